// Migrations for the project database. Each entry moves the schema one version forward; they run in a transaction
// and are never edited once released (add a new one instead).
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
];

export const schemaVersion = migrations.length;
