#ifndef ECD_CLIBPQ_SHIM_H
#define ECD_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#include <poll.h>

/* The PG_DIAG_* field codes are character-literal macros, which Swift does not import. */
static inline int ecd_pg_diag_sqlstate(void) { return PG_DIAG_SQLSTATE; }
static inline int ecd_pg_diag_message_primary(void) { return PG_DIAG_MESSAGE_PRIMARY; }
static inline int ecd_pg_diag_constraint_name(void) { return PG_DIAG_CONSTRAINT_NAME; }
static inline int ecd_pg_diag_table_name(void) { return PG_DIAG_TABLE_NAME; }
static inline int ecd_pg_diag_column_name(void) { return PG_DIAG_COLUMN_NAME; }
static inline int ecd_pg_diag_datatype_name(void) { return PG_DIAG_DATATYPE_NAME; }

#endif
