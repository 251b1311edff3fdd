print("EngineBench: not yet")
