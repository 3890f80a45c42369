def test_api_docs_serve_swagger_from_own_static_files(client, marketer):
    client.force_login(marketer)

    page = client.get("/api/docs/").content.decode()

    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn.jsdelivr.net" not in page
