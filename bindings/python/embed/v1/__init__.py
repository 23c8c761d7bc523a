"""Generated protobuf classes of proto/embed/v1 (bridge_pb2 is made by protoc)."""
