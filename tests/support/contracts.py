"""A small contract of a test's own: a private descriptor pool holding buf/validate and what it
imports, and a proto file of the test's that imports it."""

from __future__ import annotations

from buf.validate import validate_pb2
from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    duration_pb2,
    field_mask_pb2,
    timestamp_pb2,
)


def private_pool() -> descriptor_pool.DescriptorPool:
    """A pool of its own, so a test's messages never meet the real contract's."""
    pool = descriptor_pool.DescriptorPool()
    for module in (descriptor_pb2, duration_pb2, field_mask_pb2, timestamp_pb2, validate_pb2):
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        pool.Add(proto)
    return pool


def rules_file(name: str, package: str) -> descriptor_pb2.FileDescriptorProto:
    """An empty proto3 file that imports buf/validate (add messages, then ``pool.Add`` it)."""
    return descriptor_pb2.FileDescriptorProto(
        name=name, package=package, syntax="proto3", dependency=["buf/validate/validate.proto"]
    )
