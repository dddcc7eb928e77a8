'use client';

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
          <label key={name} className="flex items-center gap-2 text-sm text-zinc-700">
            <input
              type="checkbox"
              className="size-4 rounded border-zinc-300 accent-accent-600"
              checked={chosen.includes(name)}
              onChange={(e) =>
                onChange(
                  e.target.checked ? [...chosen, name] : chosen.filter((other) => other !== name),
                )
              }
            />
            <span className="font-mono">{name}</span>
          </label>
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
