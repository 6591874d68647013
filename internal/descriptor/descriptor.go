// Package descriptor serves the cloudcockpit.v1 file descriptors with their
// source comments. protoc-gen-go strips comments from the descriptors it
// embeds in gen/; `make generate` writes cloudcockpit.binpb with `buf build
// --exclude-imports`, which keeps them, so that server reflection (grpcurl
// describe) shows the documentation of every message, field and method.
package descriptor

import (
	_ "embed"
	"fmt"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// image holds the cloudcockpit.v1 files only: their imports (googleapis,
// protovalidate, descriptor.proto) are compiled into the binary already, and
// a second copy of them with their comments would hold about a megabyte of
// heap for as long as the process runs.
//
//go:embed cloudcockpit.binpb
var image []byte

// Files returns the registry built from the embedded descriptor set, with
// source info, its imports resolved in the global registry, and completed
// with the global registry's other files (health, reflection and other
// services compiled into the binary). It fails only if the embedded image
// is corrupt or does not match the binary's imports.
var Files = sync.OnceValues(func() (*protoregistry.Files, error) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(image, &set); err != nil {
		return nil, fmt.Errorf("decode embedded descriptor set: %w", err)
	}
	files := new(protoregistry.Files)
	for _, fdp := range set.GetFile() { // buf writes a file after the files it imports
		fd, err := protodesc.NewFile(fdp, resolver{files})
		if err == nil {
			err = files.RegisterFile(fd)
		}
		if err != nil {
			return nil, fmt.Errorf("build embedded descriptor %s: %w", fdp.GetName(), err)
		}
	}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if _, err := files.FindFileByPath(fd.Path()); err != nil {
			_ = files.RegisterFile(fd) // a name the set already declares keeps the set's, with comments
		}
		return true
	})
	return files, nil
})

// resolver finds what the embedded files import: in the files built so far,
// else in the global registry.
type resolver struct{ files *protoregistry.Files }

func (r resolver) FindFileByPath(path string) (protoreflect.FileDescriptor, error) {
	if fd, err := r.files.FindFileByPath(path); err == nil {
		return fd, nil
	}
	return protoregistry.GlobalFiles.FindFileByPath(path)
}

func (r resolver) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	if d, err := r.files.FindDescriptorByName(name); err == nil {
		return d, nil
	}
	return protoregistry.GlobalFiles.FindDescriptorByName(name)
}
