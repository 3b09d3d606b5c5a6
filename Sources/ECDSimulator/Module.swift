// Module ECDSimulator: see README "Design".
