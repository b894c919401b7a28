// Command vcsim runs govmomi's vCenter simulator for the vmservice.restore lab.
//
// Debian's golang-github-vmware-govmomi-dev ships the simulator library but not
// the vcsim command, so this small main builds the default VPX inventory
// (DC0, cluster DC0_C0 with three hosts, one standalone host, default VMs)
// and serves it over TLS with a certificate signed by a CA generated at start.
// Clients verify the server against that CA file: the lab never needs
// certificate validation turned off. Login accepts only -username/-password.
//
// Two additions make the simulator behave like vCenter where the collection
// depends on it: Fetch (pyvmomi's property read) no longer drops the
// connection on unset properties, and FolderNamespacePath sets the read-only
// Folder.namespace that marks a Supervisor namespace's VM folder.
//
// Build offline in GOPATH mode:
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o vcsim ./tests/lab/vcsim
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/simulator/vpx"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type options struct {
	listen     string
	username   string
	password   string
	apiVersion string
	caFile     string
	infoFile   string
}

// info is what the Python side reads to find the running server.
type info struct {
	URL      string `json:"url"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Username string `json:"username"`
	PID      int    `json:"pid"`
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.listen, "listen", "127.0.0.1:0", "address to listen on (port 0 picks a free port)")
	flag.StringVar(&o.username, "username", "administrator@vsphere.local", "the only user name accepted by Login")
	// The default comes from the environment so the password need not show in ps.
	flag.StringVar(&o.password, "password", os.Getenv("VCSIM_PASSWORD"), "the only password accepted by Login (default $VCSIM_PASSWORD)")
	flag.StringVar(&o.apiVersion, "api-version", "8.0.3.0", "vCenter API version to report (about.apiVersion)")
	flag.StringVar(&o.caFile, "ca-file", "ca.pem", "where to write the PEM of the generated CA")
	flag.StringVar(&o.infoFile, "info-file", "vcsim.json", "where to write the JSON with url/host/port")
	flag.Parse()
	if o.password == "" {
		log.Fatal("-password or VCSIM_PASSWORD is required: without one vcsim accepts any login")
	}
	return o
}

// setAbout makes the simulator report a current vCenter instead of 6.5, so
// version checks in the collection see a realistic value. vcsim also serves
// apiVersion in /sdk/vimServiceVersions.xml, which pyvmomi uses to negotiate.
func setAbout(apiVersion string) {
	parts := strings.Split(apiVersion, ".")
	if len(parts) > 3 {
		parts = parts[:3]
	}
	version := strings.Join(parts, ".")
	about := &vpx.ServiceContent.About
	about.ApiVersion = apiVersion
	about.Version = version
	about.FullName = fmt.Sprintf("VMware vCenter Server %s build-0 (vcsim)", version)
}

// propertyCollector fixes Fetch, the single-property read behind pyvmomi's
// attribute access (vm.snapshot, folder.namespace). In vcsim 0.24.2 Fetch
// panics when the property is unset or unknown to the simulator, and the
// client sees the connection drop. vCenter answers an unset property with an
// empty value and an unknown one with InvalidProperty; so does this wrapper.
type propertyCollector struct {
	simulator.PropertyCollector
}

// fetchBody and fetchResponse mirror the simulator's internal Fetch types,
// which a package outside govmomi cannot import; the XML is the same.
type fetchResponse struct {
	Returnval types.AnyType `xml:"returnval,omitempty,typeattr"`
}

type fetchBody struct {
	Res    *fetchResponse `xml:"FetchResponse,omitempty"`
	Fault_ *soap.Fault    `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *fetchBody) Fault() *soap.Fault { return b.Fault_ }

// Fetch takes the request as interface{} because its type is internal too;
// the simulator dispatches by reflection, so any assignable parameter works.
func (pc *propertyCollector) Fetch(ctx *simulator.Context, req interface{}) (res soap.HasFault) {
	fields := reflect.ValueOf(req).Elem()
	this := fields.FieldByName("This").Interface().(types.ManagedObjectReference)
	prop := fields.FieldByName("Prop").String()
	if obj := ctx.Map.Get(this); obj != nil && !hasProperty(obj, prop) {
		return &fetchBody{Fault_: simulator.Fault("", &types.InvalidProperty{Name: prop})}
	}
	defer func() {
		if recover() != nil { // the simulator found no value: the property is unset
			res = &fetchBody{Res: &fetchResponse{}}
		}
	}()
	fetch := reflect.ValueOf(&pc.PropertyCollector).MethodByName("Fetch")
	return fetch.Call([]reflect.Value{reflect.ValueOf(ctx), reflect.ValueOf(req)})[0].Interface().(soap.HasFault)
}

// hasProperty tells whether the simulator's Go type has the property path;
// Go field names are the vSphere property names with the first letter raised.
func hasProperty(obj interface{}, path string) bool {
	t := reflect.TypeOf(obj)
	for _, name := range strings.Split(path, ".") {
		for t.Kind() == reflect.Ptr || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || name == "" {
			return false
		}
		field, ok := t.FieldByName(strings.ToUpper(name[:1]) + name[1:])
		if !ok {
			return false
		}
		t = field.Type
	}
	return true
}

// installPropertyCollector replaces the singleton; the simulator clones its
// type for every session, so the wrapper serves all clients.
func installPropertyCollector() {
	pc := &propertyCollector{}
	pc.Self = vpx.ServiceContent.PropertyCollector
	simulator.Map.Put(pc)
}

// FolderNamespacePath is the lab's own endpoint for Folder.namespace.
//
// vCenter 7.0+ sets the read-only property namespace on a Supervisor
// namespace's VM folder. The simulator models the property but has no API to
// set it, so the seeding code POSTs {"folder": "group-v22", "namespace": "ns1"}
// here (HTTP Basic auth, the lab user); an empty namespace unsets it.
const FolderNamespacePath = "/vcsim-lab/folder-namespace"

func folderNamespaceHandler(user *url.Userinfo) http.HandlerFunc {
	wantPassword, _ := user.Password()
	return func(w http.ResponseWriter, r *http.Request) {
		name, password, ok := r.BasicAuth()
		if !ok || name != user.Username() || password != wantPassword {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		var body struct{ Folder, Namespace string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ref := types.ManagedObjectReference{Type: "Folder", Value: body.Folder}
		folder, ok := simulator.Map.Get(ref).(*simulator.Folder)
		if !ok {
			http.Error(w, "no such folder: "+body.Folder, http.StatusNotFound)
			return
		}
		var namespace *string
		if body.Namespace != "" {
			namespace = &body.Namespace
		}
		simulator.Map.WithLock(folder, func() { folder.Namespace = namespace })
		w.WriteHeader(http.StatusNoContent)
	}
}

func newKey() *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatalf("generate key: %v", err)
	}
	return key
}

func serialNumber() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		log.Fatalf("serial number: %v", err)
	}
	return n
}

// newCA returns a self-signed CA certificate. Go derives the subject key id
// for CA templates, and copies it as authority key id into issued certificates,
// which keeps strict verifiers (OpenSSL X509_STRICT) content.
func newCA(now time.Time) (*x509.Certificate, *ecdsa.PrivateKey) {
	key := newKey()
	tmpl := &x509.Certificate{
		SerialNumber:          serialNumber(),
		Subject:               pkix.Name{CommonName: "vmservice.restore lab CA", Organization: []string{"vcsim lab"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatalf("create CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatalf("parse CA certificate: %v", err)
	}
	return cert, key
}

// newServerCert issues a certificate valid for the loopback names clients use.
func newServerCert(now time.Time, ca *x509.Certificate, caKey *ecdsa.PrivateKey) tls.Certificate {
	key := newKey()
	tmpl := &x509.Certificate{
		SerialNumber: serialNumber(),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		log.Fatalf("create server certificate: %v", err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Raw}, PrivateKey: key}
}

// writeFileAtomic writes via a temporary file and rename, so a reader polling
// for the file never sees it half written.
func writeFileAtomic(path string, data []byte) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		log.Fatalf("write %s: %v", path, err)
	}
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Close()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		log.Fatalf("write %s: %v", path, err)
	}
}

func main() {
	o := parseFlags()
	setAbout(o.apiVersion)

	now := time.Now()
	ca, caKey := newCA(now)
	serverCert := newServerCert(now, ca, caKey)
	writeFileAtomic(o.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}))

	model := simulator.VPX()
	if err := model.Create(); err != nil {
		log.Fatalf("create model: %v", err)
	}
	installPropertyCollector()
	// Model.Create builds the Service, so TLS and the listener are set after it.
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}}
	model.Service.Listen = &url.URL{Host: o.listen, User: url.UserPassword(o.username, o.password)}
	model.Service.HandleFunc(FolderNamespacePath, folderNamespaceHandler(model.Service.Listen.User))
	server := model.Service.NewServer()

	addr := server.Listener.Addr().(*net.TCPAddr)
	public := *server.URL
	public.User = nil // the password stays with whoever started the lab
	data, _ := json.MarshalIndent(info{
		URL:      public.String(),
		Host:     addr.IP.String(),
		Port:     addr.Port,
		Username: o.username,
		PID:      os.Getpid(),
	}, "", "  ")
	writeFileAtomic(o.infoFile, append(data, '\n'))
	log.Printf("vcsim listening on %s (api %s)", public.String(), o.apiVersion)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	sig := <-stop
	log.Printf("received %s, shutting down", sig)
	server.Close()
	model.Remove() // deletes the temporary datastore directories
}
