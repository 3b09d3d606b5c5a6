// Module ECDCrypto: see README "Design".
