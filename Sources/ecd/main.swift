import ECDApp
