// Migrations for the project database. Each entry moves the schema one version forward; they run in a transaction
// and are never edited once released (add a new one instead).
import { readersBlindingMigration, readersMigration } from './schema-readers.ts';

export const migrations: readonly string[] = [
  /* 1 */ `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  CREATE TABLE patients (
    id INTEGER PRIMARY KEY,
    patient_key TEXT NOT NULL UNIQUE,
    patient_id TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    birth_date TEXT NOT NULL DEFAULT '',
    sex TEXT NOT NULL DEFAULT ''
  );

  CREATE TABLE studies (
    id INTEGER PRIMARY KEY,
    study_uid TEXT NOT NULL UNIQUE,
    patient_pk INTEGER NOT NULL REFERENCES patients(id),
    study_date TEXT NOT NULL DEFAULT '',
    study_time TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    accession TEXT NOT NULL DEFAULT '',
    study_id TEXT NOT NULL DEFAULT ''
  );
  CREATE INDEX studies_patient ON studies(patient_pk);
  CREATE INDEX studies_date ON studies(study_date);

  CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    series_uid TEXT NOT NULL UNIQUE,
    study_pk INTEGER NOT NULL REFERENCES studies(id),
    modality TEXT NOT NULL DEFAULT '',
    body_part TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    series_number REAL
  );
  CREATE INDEX series_study ON series(study_pk);
  CREATE INDEX series_modality ON series(modality);

  CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    root TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ms INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('imported', 'rejected', 'not-dicom')),
    reason TEXT NOT NULL DEFAULT ''
  );
  CREATE INDEX files_root_status ON files(root, status);

  CREATE TABLE instances (
    id INTEGER PRIMARY KEY,
    sop_uid TEXT NOT NULL UNIQUE,
    series_pk INTEGER NOT NULL REFERENCES series(id),
    file_pk INTEGER NOT NULL UNIQUE REFERENCES files(id),
    sop_class TEXT NOT NULL DEFAULT '',
    instance_number REAL,
    rows INTEGER,
    columns INTEGER,
    frames INTEGER NOT NULL DEFAULT 1,
    bits_allocated INTEGER,
    photometric TEXT NOT NULL DEFAULT '',
    transfer_syntax TEXT NOT NULL DEFAULT '',
    is_image INTEGER NOT NULL,
    file_size INTEGER NOT NULL
  );
  CREATE INDEX instances_series ON instances(series_pk, instance_number);

  CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    params TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'cancelled', 'failed', 'interrupted')),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT ''
  );
  `,
  /* 2: embeddings. Vectors live in files beside the database (embeddings/<model>/vectors.npy); these tables
     say which row holds which image or series, and which images failed and why. */ `
  CREATE TABLE embedding_models (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    dim INTEGER NOT NULL,
    package_dir TEXT NOT NULL,
    store_dir TEXT NOT NULL,
    created_at TEXT NOT NULL
  );

  CREATE TABLE embeddings (
    model_pk INTEGER NOT NULL REFERENCES embedding_models(id),
    level TEXT NOT NULL CHECK (level IN ('image', 'series')),
    item_pk INTEGER NOT NULL,
    row INTEGER NOT NULL,
    frame INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (model_pk, level, item_pk)
  ) WITHOUT ROWID;
  CREATE INDEX embeddings_row ON embeddings(model_pk, row);

  CREATE TABLE embedding_failures (
    model_pk INTEGER NOT NULL REFERENCES embedding_models(id),
    instance_pk INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (model_pk, instance_pk)
  ) WITHOUT ROWID;
  `,
  /* 3: labels. label_events is the record: append-only (triggers refuse UPDATE and DELETE), one row per human
     action with who, when, what, the value before, and the suggestion (source, model, score) shown at the time.
     Items are named by UID so labels survive a re-import. label_state is derived from the events (rebuildable);
     label_schemas keeps every version of the schema; label_model_runs is the learning curve. */ `
  CREATE TABLE label_schemas (
    id INTEGER PRIMARY KEY,
    schema TEXT NOT NULL,
    annotator TEXT NOT NULL,
    at TEXT NOT NULL
  );

  CREATE TABLE label_events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    annotator TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('set', 'accept', 'bulk-accept', 'reject', 'clear', 'flag', 'note', 'undo', 'redo', 'import')),
    level TEXT NOT NULL CHECK (level IN ('study', 'series', 'image')),
    item_uid TEXT NOT NULL,
    group_key TEXT NOT NULL,
    field TEXT NOT NULL CHECK (field IN ('labels', 'rejected', 'flagged', 'note')),
    value TEXT NOT NULL,
    previous TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('manual', 'suggestion', 'bulk', 'imported')),
    suggested TEXT NOT NULL DEFAULT '',
    suggestion_source TEXT NOT NULL DEFAULT '',
    model_sha256 TEXT NOT NULL DEFAULT '',
    model_detail TEXT NOT NULL DEFAULT '',
    score REAL,
    blinded INTEGER NOT NULL DEFAULT 0,
    reverts INTEGER REFERENCES label_events(id),
    -- Events written together (a bulk accept, its undo) share the id of the first: undo and redo treat them as one.
    batch INTEGER
  );
  CREATE INDEX label_events_item ON label_events(level, item_uid);
  CREATE INDEX label_events_annotator ON label_events(annotator, id);
  CREATE TRIGGER label_events_no_update BEFORE UPDATE ON label_events
    BEGIN SELECT RAISE(ABORT, 'label_events is append-only: record a new event instead'); END;
  CREATE TRIGGER label_events_no_delete BEFORE DELETE ON label_events
    BEGIN SELECT RAISE(ABORT, 'label_events is append-only: record a new event instead'); END;

  CREATE TABLE label_state (
    level TEXT NOT NULL,
    item_uid TEXT NOT NULL,
    group_key TEXT NOT NULL,
    labels TEXT NOT NULL DEFAULT 'null',
    rejected TEXT NOT NULL DEFAULT '[]',
    flagged INTEGER NOT NULL DEFAULT 0,
    note TEXT NOT NULL DEFAULT '',
    last_event INTEGER NOT NULL,
    PRIMARY KEY (level, item_uid, group_key)
  ) WITHOUT ROWID;
  CREATE INDEX label_state_group ON label_state(group_key, level);

  CREATE TABLE label_model_runs (
    id INTEGER PRIMARY KEY,
    group_key TEXT NOT NULL,
    labels INTEGER NOT NULL,
    source TEXT NOT NULL,
    adapter_accuracy REAL,
    zero_shot_accuracy REAL,
    knn_accuracy REAL,
    model_sha256 TEXT NOT NULL,
    at TEXT NOT NULL
  );
  `,
  /* 4: export. deid_key holds the project's secret for pseudonymising UIDs and deid_patients each patient's
     pseudonym and date shift: the re-identification key, which stays in the project and never goes into an export.
     Patients are named by their patient_key (stable across re-imports). exports logs every export written. */ `
  CREATE TABLE deid_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL
  );

  CREATE TABLE deid_patients (
    patient_key TEXT PRIMARY KEY,
    pseudonym TEXT NOT NULL UNIQUE,
    day_offset INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE exports (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    annotator TEXT NOT NULL,
    out TEXT NOT NULL,
    options TEXT NOT NULL,
    rows INTEGER NOT NULL,
    manifest_sha256 TEXT NOT NULL
  );
  `,
  /* 5: the process that runs a job. A 'running' row is the lease on its kind (one writer per kind and project,
     across processes); pid and its start time tell a live holder from one that crashed (see project/job-repo.ts). */ `
  ALTER TABLE jobs ADD COLUMN pid INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE jobs ADD COLUMN process_started_ms INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX jobs_running ON jobs(kind) WHERE status = 'running';
  `,
  /* 6: reader studies (see schema-readers.ts) */ readersMigration,
  /* 7: reader studies blinded to the model */ readersBlindingMigration,
];

export const schemaVersion = migrations.length;
