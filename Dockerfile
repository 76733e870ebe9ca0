# appliance-status: one static (musl) binary and the built site, nothing else. No shell, runs as
# a non-root numeric UID, works with a read-only root filesystem (the chart sets it).
#
# Two ways to build, both from this file:
#
# 1. `runtime` (before the build stage, so that nothing is pulled for it): from a context prepared by
#    `scripts/image.sh`, which builds the static binary and the site on the host. This is the
#    stage the test suite builds (buildah), since it pulls no base image:
#        bash scripts/image.sh            # -> localhost/appliance-status:<version>
#
# 2. `from-source`: everything built inside, for machines that can pull a Rust image (not built
#    by the tests: no registry is reachable from our machines):
#        buildah bud --target from-source -t appliance-status .

# What every final image is: where things are, who runs them, how it starts.
FROM scratch AS base
ENV PATH=/usr/local/bin \
    LEPTOS_SITE_ROOT=/app/site \
    LEPTOS_OUTPUT_NAME=appliance-status \
    APPLIANCE_STATUS_LISTEN=0.0.0.0:8080
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/appliance-status"]
CMD ["serve"]

FROM base AS runtime
COPY --chown=0:0 dist/appliance-status /usr/local/bin/appliance-status
COPY --chown=0:0 dist/site /app/site

FROM docker.io/library/rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends musl-tools \
 && rustup target add x86_64-unknown-linux-musl wasm32-unknown-unknown
WORKDIR /src
COPY . .
RUN bash scripts/setup.sh run && bash scripts/image.sh --dist-only

FROM base AS from-source
COPY --from=build /src/dist/appliance-status /usr/local/bin/appliance-status
COPY --from=build /src/dist/site /app/site
