#ifndef ECD_CSQLITE_SHIM_H
#define ECD_CSQLITE_SHIM_H
#include <sqlite3.h>

/* SQLITE_TRANSIENT and SQLITE_STATIC are cast macros that Swift cannot import.
   SQLITE_TRANSIENT tells SQLite to copy bound text/blobs before the bind call returns,
   so Swift buffers only need to live for the duration of that call. */
static inline sqlite3_destructor_type ecd_sqlite_transient(void) {
    return SQLITE_TRANSIENT;
}

#endif
