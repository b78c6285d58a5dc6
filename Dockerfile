# The Windsock server as a container image: `windsock` is the entrypoint, `standalone` the
# default command (see docs/releasing.md). Build from the repository root:
#   docker build -t windsock:1.0.0 .
# Stage 1 builds the wheel from server/ (its bundled contract links to spec/dist/openapi.yaml);
# stage 2 installs only the wheel, and runs as an unprivileged user.

FROM python:3.11-slim AS build
WORKDIR /src
COPY spec/dist/openapi.yaml spec/dist/openapi.yaml
COPY server server
RUN pip wheel --no-cache-dir --wheel-dir /wheels ./server

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 --user-group windsock
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER windsock
ENV WINDSOCK_HOME=/home/windsock/windsock \
    WINDSOCK__API__HOST=0.0.0.0
WORKDIR /home/windsock
EXPOSE 8080
ENTRYPOINT ["windsock"]
CMD ["standalone"]
