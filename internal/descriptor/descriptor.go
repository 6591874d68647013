// Package descriptor serves the cloudcockpit.v1 file descriptors with their
// source comments. protoc-gen-go strips comments from the descriptors it
// embeds in gen/; `make generate` writes cloudcockpit.binpb with `buf build`,
// which keeps them, so that server reflection (grpcurl describe) shows the
// documentation of every message, field and method.
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

//go:embed cloudcockpit.binpb
var image []byte

// Files returns the registry built from the embedded descriptor set, with
// source info, and completed with the files of the global registry that the
// set lacks (health, reflection and other services compiled into the binary).
// It fails only if the embedded image is corrupt.
var Files = sync.OnceValues(func() (*protoregistry.Files, error) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(image, &set); err != nil {
		return nil, fmt.Errorf("decode embedded descriptor set: %w", err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, fmt.Errorf("build embedded descriptor registry: %w", err)
	}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if _, err := files.FindFileByPath(fd.Path()); err != nil {
			_ = files.RegisterFile(fd) // a name the set already declares keeps the set's, with comments
		}
		return true
	})
	return files, nil
})
