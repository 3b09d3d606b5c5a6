// Module ECDCronofy: see README "Design".
