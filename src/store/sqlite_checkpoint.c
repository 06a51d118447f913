/* sqlite_checkpoint.c - the WAL checkpointer: a thread of its own copies the
 * writer's committed pages from the WAL into the database file.
 *
 * SQLite's automatic checkpoint runs in the connection that commits, once the
 * WAL holds 1,000 pages: the writer thread, which every acknowledged write
 * waits for, would copy every page a second time (read from the WAL, written to
 * the file, fsynced) between two transactions. Here the writer only says, from
 * its WAL hook, that there are pages to copy, and this thread copies them with
 * a PASSIVE checkpoint on its own connection, while the writer goes on
 * appending to the WAL: SQLite allows one checkpoint beside one writer and any
 * readers. A checkpoint that readers keep from finishing leaves the rest to the
 * next one, as the automatic one does. */
#include "../core/log.h"
#include "sqlite_local.h"

/* The WAL pages after which the writer asks for a checkpoint (SQLite's own
 * automatic threshold), and after which it waits for one. */
#define CHECKPOINT_PAGES 1000
#define CHECKPOINT_WAIT  16000

/* The writer's WAL hook, after each commit: `pages` in the WAL. A WAL starts
 * over from its beginning only when a transaction begins after a checkpoint
 * copied all of it; a writer that never waits (a long import) would grow it
 * without end, and every read would search a larger WAL index. Past
 * CHECKPOINT_WAIT pages the writer waits for a pass that began after its
 * commit, so that its next transaction starts the WAL over. */
static int
wal_hook(void *arg, sqlite3 *db, const char *schema, int pages)
{
    struct checkpointer *ck = arg;

    KW_UNUSED(db);
    KW_UNUSED(schema);
    if (pages < CHECKPOINT_PAGES)
        return SQLITE_OK;
    pthread_mutex_lock(&ck->mu);
    ck->due = true;
    pthread_cond_broadcast(&ck->cv);
    uint64_t want = ck->passes + (ck->busy ? 2 : 1);
    while (pages >= CHECKPOINT_WAIT && ck->passes < want && !ck->stop)
        pthread_cond_wait(&ck->done, &ck->mu);
    pthread_mutex_unlock(&ck->mu);
    return SQLITE_OK;
}

static void *
checkpointer_main(void *arg)
{
    struct checkpointer *ck = arg;

    pthread_mutex_lock(&ck->mu);
    for (;;) {
        while (!ck->due && !ck->stop)
            pthread_cond_wait(&ck->cv, &ck->mu);
        if (ck->stop)
            break;
        ck->due = false;
        ck->busy = true;
        pthread_mutex_unlock(&ck->mu);
        int rc =
            sqlite3_wal_checkpoint_v2(ck->conn.db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            log_warn("store: checkpoint: %s", sqlite3_errmsg(ck->conn.db));
        pthread_mutex_lock(&ck->mu);
        ck->busy = false;
        ck->passes++;
        pthread_cond_broadcast(&ck->done);
    }
    pthread_cond_broadcast(&ck->done);
    pthread_mutex_unlock(&ck->mu);
    return NULL;
}

int
sqlite_checkpointer_start(struct checkpointer *ck, struct conn *writer, const char *path,
                          struct errbuf *eb)
{
    int rc = sqlite_conn_open(&ck->conn, path, false, eb);

    if (rc != E_OK)
        return rc;
    pthread_mutex_init(&ck->mu, NULL);
    pthread_cond_init(&ck->cv, NULL);
    pthread_cond_init(&ck->done, NULL);
    ck->due = ck->stop = ck->busy = false;
    ck->passes = 0;
    if (pthread_create(&ck->thread, NULL, checkpointer_main, ck) != 0) {
        sqlite_conn_close(&ck->conn);
        return errbuf_set(eb, E_INTERNAL, "store: cannot start the checkpointer thread");
    }
    ck->running = true;
    sqlite3_wal_hook(writer->db, wal_hook, ck); /* replaces the automatic checkpoint */
    return E_OK;
}

void
sqlite_checkpointer_stop(struct checkpointer *ck, struct conn *writer)
{
    if (!ck->running)
        return;
    sqlite3_wal_hook(writer->db, NULL, NULL);
    pthread_mutex_lock(&ck->mu);
    ck->stop = true;
    pthread_cond_signal(&ck->cv);
    pthread_mutex_unlock(&ck->mu);
    pthread_join(ck->thread, NULL);
    sqlite_conn_close(&ck->conn);
    pthread_cond_destroy(&ck->cv);
    pthread_cond_destroy(&ck->done);
    pthread_mutex_destroy(&ck->mu);
    ck->running = false;
}
