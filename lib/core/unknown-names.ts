/**
 * Names nobody reads: a context key or a property that no code looks at is
 * refused rather than ignored, since a misspelt `frontDoor` would otherwise
 * leave the default in place without a word. Each refusal names the closest
 * known name: one that differs only in case, else the nearest by edit
 * distance (ignoring case) when near enough to be a likely typo, else one
 * the name is the start of, or that is the start of the name (`imageTtl`
 * for `imageTtlMinutes`).
 */

/**
 * Edit distance between two strings: insertions, deletions, substitutions and
 * swaps of two neighbouring characters each count 1 (optimal string alignment).
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[0].push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, rows[i - 2][j - 2] + 1);
      }
      rows[i].push(d);
    }
  }
  return rows[a.length][b.length];
}

/**
 * The known name `name` most likely stands for: the first that equals it
 * ignoring case; else the nearest by edit distance ignoring case (the first
 * of equals), if at most a third of the longer name's length (and at least 1)
 * apart; else the nearest in length of those that begin with the other
 * (ignoring case), the shorter of the two being at least 4 characters and
 * half the longer; else none.
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const sameWord = known.find((k) => k.toLowerCase() === lower);
  if (sameWord !== undefined) return sameWord;
  let best: { name: string; distance: number } | undefined;
  for (const k of known) {
    const distance = editDistance(lower, k.toLowerCase());
    const limit = Math.max(1, Math.floor(Math.max(name.length, k.length) / 3));
    if (distance <= limit && (best === undefined || distance < best.distance)) {
      best = { name: k, distance };
    }
  }
  if (best !== undefined) return best.name;
  for (const k of known) {
    const [shorter, longer] =
      k.length < name.length ? [k.toLowerCase(), lower] : [lower, k.toLowerCase()];
    const extra = longer.length - shorter.length;
    if (
      longer.startsWith(shorter) &&
      shorter.length >= 4 &&
      shorter.length * 2 >= longer.length &&
      (best === undefined || extra < best.distance)
    ) {
      best = { name: k, distance: extra };
    }
  }
  return best?.name;
}

/**
 * One refusal: `Unknown <what> '<name>': did you mean '<closest>'? (see <see>)`,
 * or without the question when no known name is near.
 */
export function unknownNameMessage(
  what: string,
  name: string,
  known: readonly string[],
  see: string,
): string {
  const closest = closestName(name, known);
  const guess = closest === undefined ? '' : `: did you mean '${closest}'?`;
  return `Unknown ${what} '${name}'${guess} (see ${see})`;
}
