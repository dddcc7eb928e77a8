/**
 * What the instance page says of a resize under way (`InstanceView.resize`, set while the
 * status is RESIZE): the flavor or volume size it is being resized to, in the header and in
 * the Details card.
 */

interface FlavorSize {
  name: string;
  vcpus: number;
  ramMb: number;
}

export type ResizeTarget =
  | { kind: 'flavor'; from: FlavorSize; to: FlavorSize }
  | { kind: 'volume'; fromGb: number; toGb: number };

function describeFlavor(flavor: FlavorSize): string {
  return `${flavor.name} (${flavor.vcpus} vCPU, ${flavor.ramMb} MB)`;
}

/** The header's line while the resize runs. */
export function describeResize(resize: ResizeTarget): string {
  return resize.kind === 'flavor'
    ? `Resizing from ${resize.from.name} to ${describeFlavor(resize.to)}: the database server restarts with limits and buffers sized for it…`
    : `Growing the volume from ${resize.fromGb} GB to ${resize.toGb} GB…`;
}

/**
 * The Details card's Flavor and Volume values (short: one line each): while resizing, the
 * current one → the target (the row already holds a growing volume's new size).
 */
export function detailValues(
  instance: { flavor: FlavorSize; volumeSizeGb: number },
  resize: ResizeTarget | null,
): { flavor: string; volume: string } {
  return {
    flavor:
      resize?.kind === 'flavor'
        ? `${instance.flavor.name} → ${resize.to.name} (resizing)`
        : describeFlavor(instance.flavor),
    volume:
      resize?.kind === 'volume'
        ? `${resize.fromGb} GB → ${resize.toGb} GB (growing)`
        : `${instance.volumeSizeGb} GB`,
  };
}
