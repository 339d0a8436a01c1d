// Migration for reader studies, in its own file so it merges cleanly. Reads are kept apart from the project's
// consensus labels: reading_events is append-only like label_events (a corrected read is a new event; the latest
// per reader and position counts).
export const readersMigration = `
  CREATE TABLE readers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
  );

  CREATE TABLE reading_studies (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    group_key TEXT NOT NULL,
    items TEXT NOT NULL,
    readers TEXT NOT NULL,
    seed INTEGER NOT NULL,
    repeat_share REAL NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    unblinded_at TEXT
  );

  CREATE TABLE reading_events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    study_pk INTEGER NOT NULL REFERENCES reading_studies(id),
    reader TEXT NOT NULL,
    position INTEGER NOT NULL,
    item_uid TEXT NOT NULL,
    value TEXT NOT NULL
  );
  -- Adjudications of disagreements: append-only; the latest per study and item is the reference label.
  CREATE TABLE reading_adjudications (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    study_pk INTEGER NOT NULL REFERENCES reading_studies(id),
    item_uid TEXT NOT NULL,
    value TEXT NOT NULL,
    adjudicator TEXT NOT NULL
  );
  CREATE TRIGGER reading_adjudications_no_update BEFORE UPDATE ON reading_adjudications
    BEGIN SELECT RAISE(ABORT, 'reading_adjudications is append-only: record a new event instead'); END;
  CREATE TRIGGER reading_adjudications_no_delete BEFORE DELETE ON reading_adjudications
    BEGIN SELECT RAISE(ABORT, 'reading_adjudications is append-only: record a new event instead'); END;
  CREATE INDEX reading_events_reader ON reading_events(study_pk, reader, position);
  CREATE TRIGGER reading_events_no_update BEFORE UPDATE ON reading_events
    BEGIN SELECT RAISE(ABORT, 'reading_events is append-only: record a new event instead'); END;
  CREATE TRIGGER reading_events_no_delete BEFORE DELETE ON reading_events
    BEGIN SELECT RAISE(ABORT, 'reading_events is append-only: record a new event instead'); END;
`;

// Migration 7: whether a study hides the model from its readers (suggestions, scores, model-ranked queues) until
// it is unblinded. Studies made before the option existed are treated as blinded: the safe side.
export const readersBlindingMigration = `
  ALTER TABLE reading_studies ADD COLUMN blinded_to_model INTEGER NOT NULL DEFAULT 1;
`;
