"""gRPC glue: exposes costmodel and tuner to compiler passes. No logic of its own."""
