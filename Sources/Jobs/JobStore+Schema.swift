import GRDB

extension JobStore {
    /// The schema's migrations, oldest first. Never edit a migration that has shipped; add a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: jobs, events, artifacts") { db in
            // `number` orders the queue (first in, first out) and the listings (newest first) without
            // trusting the clock; `id` is what clients see.
            try db.execute(
                sql: """
                    CREATE TABLE job (
                        number INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        kind TEXT NOT NULL,
                        owner_uid INTEGER NOT NULL,
                        model_digest TEXT,
                        request_id TEXT,
                        spec TEXT NOT NULL,
                        state TEXT NOT NULL CHECK (state IN
                            ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
                        attempt INTEGER NOT NULL DEFAULT 0,
                        cancel_requested INTEGER NOT NULL DEFAULT 0,
                        progress TEXT,
                        error_code TEXT,
                        error_message TEXT,
                        created_at DATETIME NOT NULL,
                        started_at DATETIME,
                        finished_at DATETIME
                    );
                    CREATE UNIQUE INDEX job_owner_request ON job(owner_uid, request_id) WHERE request_id IS NOT NULL;
                    CREATE INDEX job_state ON job(state, number);
                    CREATE INDEX job_owner ON job(owner_uid, number);

                    CREATE TABLE job_event (
                        job_id TEXT NOT NULL REFERENCES job(id) ON DELETE CASCADE,
                        seq INTEGER NOT NULL,
                        time DATETIME NOT NULL,
                        kind TEXT NOT NULL,
                        payload TEXT NOT NULL,
                        PRIMARY KEY (job_id, seq)
                    ) WITHOUT ROWID;

                    CREATE TABLE job_artifact (
                        job_id TEXT NOT NULL REFERENCES job(id) ON DELETE CASCADE,
                        name TEXT NOT NULL,
                        relative_path TEXT NOT NULL,
                        size INTEGER NOT NULL,
                        sha256 TEXT NOT NULL,
                        media_type TEXT NOT NULL,
                        PRIMARY KEY (job_id, name)
                    ) WITHOUT ROWID;
                    """
            )
        }
        return migrator
    }
}
