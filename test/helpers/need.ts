// A tool or build output a suite needs. Missing on a developer's machine: the suite is skipped, and
// says so. Missing in CI (CI=true, as .ci/run runs): the suite fails, naming what is missing and how
// to get it, so a CI run cannot go green by skipping what it could not run.
export function need(what: string, present: boolean, howToGet: string): boolean {
  if (!present && process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0') {
    throw new Error(`${what} is missing (${howToGet}); in CI a missing tool is a failure, not a skip`);
  }
  return present;
}
