// Package descriptor serves the cloudcockpit.v1 file descriptors with the
// source comments that protoc-gen-go strips from gen/, so that server
// reflection (grpcurl describe) documents every message, field and method.
// `make generate` writes cloudcockpit.binpb with `buf build --exclude-imports`:
// a second copy of the imported files would hold a megabyte of heap.
package descriptor

import (
	_ "embed"
	"fmt"
	"slices"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

//go:embed cloudcockpit.binpb
var image []byte

// Files returns a registry of the global registry's files (what the binary
// compiles in: imports, health, reflection) in which the cloudcockpit.v1
// ones are those of the embedded set, with source info. It fails only if the
// embedded image is corrupt or does not match the binary's imports.
var Files = sync.OnceValues(func() (*protoregistry.Files, error) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(image, &set); err != nil {
		return nil, fmt.Errorf("decode embedded descriptor set: %w", err)
	}
	files := new(protoregistry.Files)
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		embedded := func(f *descriptorpb.FileDescriptorProto) bool { return f.GetName() == fd.Path() }
		if !slices.ContainsFunc(set.GetFile(), embedded) {
			_ = files.RegisterFile(fd) // the global registry has no conflicts
		}
		return true
	})
	for _, fdp := range set.GetFile() { // buf writes a file after the files it imports
		fd, err := protodesc.NewFile(fdp, files)
		if err == nil {
			err = files.RegisterFile(fd)
		}
		if err != nil {
			return nil, fmt.Errorf("build embedded descriptor %s: %w", fdp.GetName(), err)
		}
	}
	return files, nil
})
