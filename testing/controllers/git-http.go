// git-http serves the bare repositories under a directory over git's smart HTTP protocol, the
// way a git forge does, by running Debian's `git http-backend` as a CGI program (Go's standard
// net/http/cgi). The smoke run's GitRepository points source-controller at it.
//
//	git-http -listen 127.0.0.1:PORT -root DIR
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/cgi"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	root := flag.String("root", "", "directory holding the bare repositories (NAME.git)")
	git := flag.String("git", "/usr/bin/git", "the git binary")
	flag.Parse()
	if *root == "" {
		log.Fatal("-root is required")
	}
	handler := &cgi.Handler{
		Path: *git,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + *root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s", r.Method, r.URL.RequestURI())
		handler.ServeHTTP(w, r)
	})
	log.Printf("serving %s on %s", *root, *listen)
	log.Fatal(http.ListenAndServe(*listen, logged))
}
