package sandbox_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// Serve the sandbox on a loopback port and fetch the main sample reseller, as the
// facade's REST client does in -sandbox mode.
func ExampleNew() {
	s := sandbox.New()
	ts := httptest.NewServer(s)
	defer ts.Close()

	req, err := http.NewRequest(http.MethodGet, ts.URL+"/v1/Resellers/"+sandbox.ContosoResellerID, nil)
	if err != nil {
		panic(err)
	}
	req.Header.Set("Authorization", "Bearer "+sandbox.SampleToken)
	req.Header.Set("X-Tenant", sandbox.SampleTenant)
	resp, err := ts.Client().Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()

	var reseller struct {
		CompanyName string `json:"companyName"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reseller); err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, reseller.CompanyName, s.Requests())
	// Output: 200 Contoso Cloud Solutions, Lda. 1
}
