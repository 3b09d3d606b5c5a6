#ifndef ECD_CSQLITE_SHIM_H
#define ECD_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif
