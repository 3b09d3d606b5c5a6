// Module ECDSQLite: see README "Design".
