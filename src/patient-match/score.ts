import type { HumanName, Identifier, Patient } from '@medplum/fhirtypes';

/** The match-grade extension's codes (extension-match-grade.html), best first; `certainly-not` is never returned. */
export type MatchGrade = 'certain' | 'probable' | 'possible';

/**
 * Points of evidence, out of 100 (README "Patient matching and merge" documents this table).
 * An identifier names a patient in one system (a hospital's MRN, a national number), so only the
 * same system and value count; two values in the same system are evidence against. Demographics
 * alone are shared by different people, so they never add up to `certain`.
 */
export const POINTS = {
  identifier: 50,
  birthDate: 20,
  family: 15,
  given: 10,
  gender: 5,
  /** Penalties: both sides state it, and differently. */
  birthDateConflict: -20,
  genderConflict: -10,
  identifierConflict: -30,
} as const;

/** Lowest points of each grade. */
export const GRADES: ReadonlyArray<readonly [MatchGrade, number]> = [
  ['certain', 80],
  ['probable', 60],
  ['possible', 30],
];

export interface MatchScore {
  /** 0..1, `Bundle.entry.search.score`. */
  score: number;
  grade: MatchGrade | undefined;
  /** What matched or conflicted, e.g. `identifier`, `birthDate`, `-gender`. */
  evidence: string[];
}

/** Lower case without accents, spaces and punctuation: `Müller-Lüdenscheidt` and `muller ludenscheidt` are equal. */
export function fold(text: string | undefined): string {
  return (text ?? '').normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
}

const familiesOf = (names: HumanName[] | undefined): Set<string> => new Set((names ?? []).map((n) => fold(n.family)).filter(Boolean));
const givensOf = (names: HumanName[] | undefined): Set<string> => new Set((names ?? []).flatMap((n) => n.given ?? []).map(fold).filter(Boolean));
const intersects = (a: Set<string>, b: Set<string>): boolean => [...a].some((x) => b.has(x));
const sameId = (a: Identifier, b: Identifier): boolean => !!a.system && a.system === b.system && !!a.value && a.value === b.value;

/** Scores a stored candidate against the Patient the client gave (operation-patient-match.html). */
export function scoreMatch(input: Patient, candidate: Patient): MatchScore {
  const evidence: string[] = [];
  let points = 0;
  const add = (name: keyof typeof POINTS): void => {
    points += POINTS[name];
    evidence.push(name);
  };
  const ids = input.identifier ?? [];
  const theirs = candidate.identifier ?? [];
  if (ids.some((i) => theirs.some((t) => sameId(i, t)))) add('identifier');
  else if (ids.some((i) => i.system && theirs.some((t) => t.system === i.system && t.value && t.value !== i.value))) add('identifierConflict');
  if (input.birthDate && candidate.birthDate) add(input.birthDate === candidate.birthDate ? 'birthDate' : 'birthDateConflict');
  if (intersects(familiesOf(input.name), familiesOf(candidate.name))) add('family');
  if (intersects(givensOf(input.name), givensOf(candidate.name))) add('given');
  if (input.gender && candidate.gender && input.gender !== 'unknown' && candidate.gender !== 'unknown') add(input.gender === candidate.gender ? 'gender' : 'genderConflict');
  const bounded = Math.max(0, Math.min(100, points));
  return { score: bounded / 100, grade: GRADES.find(([, min]) => bounded >= min)?.[0], evidence };
}
