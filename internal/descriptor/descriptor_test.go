package descriptor

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
)

// TestFilesKeepComments: the cloudcockpit.v1 files come from the embedded
// set, with their comments, and what they import resolves to the binary's
// own descriptors.
func TestFilesKeepComments(t *testing.T) {
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []protoreflect.FullName{
		"cloudcockpit.v1.Reseller",
		"cloudcockpit.v1.Reseller.company_name",
		"cloudcockpit.v1.ResellerService.GetReseller",
		"cloudcockpit.v1.CustomerService",
		"cloudcockpit.v1.MarginRule",
	} {
		d, err := files.FindDescriptorByName(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if c := d.ParentFile().SourceLocations().ByDescriptor(d).LeadingComments; strings.TrimSpace(c) == "" {
			t.Errorf("%s has no leading comment", name)
		}
	}
	// An import is the global registry's descriptor, not a second copy.
	fd, err := files.FindFileByPath("cloudcockpit/v1/reseller_service.proto")
	if err != nil {
		t.Fatal(err)
	}
	for i := range fd.Imports().Len() {
		imp := fd.Imports().Get(i)
		if strings.HasPrefix(imp.Path(), "cloudcockpit/") {
			continue
		}
		global, err := protoregistry.GlobalFiles.FindFileByPath(imp.Path())
		if err != nil || imp.FileDescriptor != global {
			t.Errorf("import %s is not the global registry's file (%v)", imp.Path(), err)
		}
	}
	// The embedded files describe what the generated code compiles in,
	// comments aside: a stale set would describe another contract.
	for _, generated := range []protoreflect.FileDescriptor{pb.File_cloudcockpit_v1_reseller_proto, pb.File_cloudcockpit_v1_reseller_service_proto, pb.File_cloudcockpit_v1_customer_service_proto} {
		embedded, err := files.FindFileByPath(generated.Path())
		if err != nil {
			t.Fatal(err)
		}
		e, g := protodesc.ToFileDescriptorProto(embedded), protodesc.ToFileDescriptorProto(generated)
		e.SourceCodeInfo = nil
		if !proto.Equal(e, g) {
			t.Errorf("%s: the embedded descriptor differs from the generated code's", generated.Path())
		}
	}
}

// TestFilesHasEveryGlobalFile: the registry also answers for every other
// file compiled into the binary, so reflection can describe health and
// reflection themselves.
func TestFilesHasEveryGlobalFile(t *testing.T) {
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if _, err := files.FindFileByPath(fd.Path()); err != nil {
			t.Errorf("%s missing: %v", fd.Path(), err)
		}
		return true
	})
	if files.NumFiles() != protoregistry.GlobalFiles.NumFiles() {
		t.Errorf("%d files, the global registry has %d", files.NumFiles(), protoregistry.GlobalFiles.NumFiles())
	}
}

// TestImageHoldsOnlyOwnFiles: the embedded set carries the cloudcockpit.v1
// files alone (make generate builds it with --exclude-imports), not a second
// copy of what they import.
func TestImageHoldsOnlyOwnFiles(t *testing.T) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(image, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.GetFile()) == 0 {
		t.Fatal("the embedded set is empty")
	}
	for _, f := range set.GetFile() {
		if !strings.HasPrefix(f.GetName(), "cloudcockpit/v1/") {
			t.Errorf("the embedded set carries %s", f.GetName())
		}
	}
}
