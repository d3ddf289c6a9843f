print("hawker")
