// Generates the DICOM fixtures once per test run (they are never committed).
import { makeFixtures } from './fixtures/make-fixtures.ts';
import { FIXTURE_DIR } from './helpers.ts';

export default function setup(): void {
  makeFixtures(FIXTURE_DIR);
}
