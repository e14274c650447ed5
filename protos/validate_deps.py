"""Writes the FileDescriptorSet of buf/validate/validate.proto (and the well-known files it
imports) to the path given, for `make protos` (protoc --descriptor_set_in).

The protovalidate rules' own contract comes from the installed registry package (PyPI
``protovalidate``, pinned in requirements.txt), not from a copy kept in this repository: its
generated module carries the serialized FileDescriptorProto."""

import sys

from google.protobuf import descriptor_pb2, duration_pb2, field_mask_pb2, timestamp_pb2
from protovalidate._gen.buf.validate import validate_pb  # type: ignore[import-untyped]


def main(out: str) -> None:
    files = descriptor_pb2.FileDescriptorSet()
    for module in (descriptor_pb2, duration_pb2, field_mask_pb2, timestamp_pb2):
        module.DESCRIPTOR.CopyToProto(files.file.add())
    files.file.add().ParseFromString(validate_pb.desc().proto.to_binary())
    with open(out, "wb") as f:
        f.write(files.SerializeToString())


if __name__ == "__main__":
    main(sys.argv[1])
