// Module ECDCore: see README "Design".
