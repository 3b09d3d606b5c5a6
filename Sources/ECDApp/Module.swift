// Module ECDApp: see README "Design".
