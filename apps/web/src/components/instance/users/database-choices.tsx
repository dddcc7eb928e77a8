'use client';

import { Checkbox } from '~/components/ui/field';

/** Checkboxes for the databases a user gets access to. */
export function DatabaseChoices({
  legend,
  names,
  chosen,
  onChange,
  error,
}: {
  legend: string;
  names: string[];
  chosen: string[];
  onChange: (chosen: string[]) => void;
  error?: string;
}) {
  return (
    <fieldset className="space-y-1.5">
      <legend className="text-sm font-medium text-zinc-800">{legend}</legend>
      {names.length === 0 ? (
        <p className="text-sm text-zinc-500">No databases to choose from.</p>
      ) : null}
      <div className="max-h-40 space-y-1 overflow-y-auto">
        {names.map((name) => (
          <Checkbox
            key={name}
            checked={chosen.includes(name)}
            onCheckedChange={(checked) =>
              onChange(checked ? [...chosen, name] : chosen.filter((other) => other !== name))
            }
          >
            <span className="font-mono">{name}</span>
          </Checkbox>
        ))}
      </div>
      {error ? (
        <p className="text-sm text-red-600" role="alert">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}
