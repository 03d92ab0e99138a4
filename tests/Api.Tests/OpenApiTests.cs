using System.Text.Json;
using Glance.Api.Tests.Support;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Glance.Api.Tests;

/// <summary>
/// The API reference (issue 13, item 1): <c>/openapi/v1.json</c> is OpenAPI 3.1, lists every
/// mapped route, carries Glance's records and media types, and its image schema is the one
/// <c>/v2/schemas/image</c> serves, operator definitions included; it, <c>/docs</c> and the
/// console's files need no identity.
/// </summary>
public sealed class OpenApiTests
{
    [Fact]
    public async Task Every_mapped_route_is_in_the_document_and_the_version_is_3_1()
    {
        await using var server = new GlanceServer();
        var document = await DocumentAsync(server.Client);

        Assert.StartsWith("3.1.", Expect.Str(document, "openapi"));
        var paths = document.GetProperty("paths");
        var endpoints = server.Factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is not { ExcludeFromDescription: true })
            .ToList();
        Assert.True(endpoints.Count > 80, $"only {endpoints.Count} endpoints");
        var missing = new List<string>();
        foreach (var endpoint in endpoints)
        {
            var path = "/" + endpoint.RoutePattern.RawText!.Trim('/');
            foreach (var method in endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [])
            {
                if (!paths.TryGetProperty(path, out var item) || !item.TryGetProperty(method.ToLowerInvariant(), out var operation)
                    || !operation.TryGetProperty("operationId", out _))
                {
                    missing.Add($"{method} {path}");
                }
            }
        }
        Assert.Empty(missing);
        // Nothing extra either: the document's operations are the routes'.
        var operations = paths.EnumerateObject().Sum(p => p.Value.EnumerateObject().Count(o => o.Name != "parameters"));
        Assert.Equal(endpoints.Sum(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.Count ?? 0), operations);
    }

    [Fact]
    public async Task The_image_schema_agrees_with_v2_schemas_image_including_operator_definitions()
    {
        await using var server = new GlanceServer();
        var api = server.Client;
        var name = GlanceClient.Unique("openapi_prop").Replace('-', '_');
        Expect.Status(await api.PutJsonAsync($"/v2/property-definitions/{name}", Persona.Admin,
            """{"type":"string","enum":["x","y"],"description":"an operator's property"}"""), 201);

        var served = Expect.Status(await api.GetAsync("/v2/schemas/image", Persona.P1), 200).Json.GetProperty("properties");
        var documented = (await DocumentAsync(api)).GetProperty("components").GetProperty("schemas").GetProperty("Image").GetProperty("properties");

        Assert.Equal(served.EnumerateObject().Select(p => p.Name).Order(), documented.EnumerateObject().Select(p => p.Name).Order());
        Assert.Contains(name, documented.EnumerateObject().Select(p => p.Name));
        foreach (var property in served.EnumerateObject())
        {
            var mine = documented.GetProperty(property.Name);
            foreach (var keyword in new[] { "type", "enum", "pattern", "maxLength", "readOnly", "description" })
            {
                Assert.Equal(
                    property.Value.TryGetProperty(keyword, out var expected) ? Normalized(expected) : null,
                    mine.TryGetProperty(keyword, out var actual) ? Normalized(actual) : null);
            }
        }

        // The document is cached, but a new definition shows at once (the catalog changed).
        var later = name + "_later";
        Expect.Status(await api.PutJsonAsync($"/v2/property-definitions/{later}", Persona.Admin, """{"type":"integer","minimum":1}"""), 201);
        var properties = (await DocumentAsync(api)).GetProperty("components").GetProperty("schemas").GetProperty("Image").GetProperty("properties");
        Assert.True(properties.TryGetProperty(later, out _));
    }

    [Fact]
    public async Task A_definition_with_control_characters_still_gives_valid_json()
    {
        await using var server = new GlanceServer();
        var api = server.Client;
        Expect.Status(await api.PutJsonAsync("/v2/property-definitions/zz_control", Persona.Admin,
            """{"type":"string","pattern":"^a\u0000b\u001b$","description":"line\nnext"}"""), 201);

        // The writer of Microsoft.OpenApi leaves such characters raw; the document must parse anyway.
        var property = (await DocumentAsync(api)).GetProperty("components").GetProperty("schemas").GetProperty("Image")
            .GetProperty("properties").GetProperty("zz_control");
        Assert.Equal("^a\\u0000b\\u001b$", Expect.Str(property, "pattern"));
        Assert.Equal("line\nnext", Expect.Str(property, "description"));
    }

    [Fact]
    public async Task Operations_carry_media_types_headers_and_glances_error_shape()
    {
        await using var server = new GlanceServer();
        var document = await DocumentAsync(server.Client);
        var paths = document.GetProperty("paths");

        var patch = paths.GetProperty("/v2/images/{id}").GetProperty("patch");
        Assert.Contains("application/openstack-images-v2.1-json-patch", patch.GetProperty("requestBody").GetProperty("content").EnumerateObject().Select(c => c.Name));
        Assert.Equal("#/components/schemas/Image", Schema(patch.GetProperty("responses").GetProperty("200")));

        var upload = paths.GetProperty("/v2/images/{id}/file").GetProperty("put");
        var binary = upload.GetProperty("requestBody").GetProperty("content").GetProperty("application/octet-stream").GetProperty("schema");
        Assert.Equal("binary", Expect.Str(binary, "format"));
        Assert.True(upload.GetProperty("responses").TryGetProperty("204", out _));

        var create = paths.GetProperty("/v2/images").GetProperty("post").GetProperty("responses").GetProperty("201");
        Assert.True(create.GetProperty("headers").TryGetProperty("Location", out _));
        Assert.Equal("#/components/schemas/Image", Schema(create));
        var list = paths.GetProperty("/v2/images").GetProperty("get");
        Assert.Equal("#/components/schemas/Images", Schema(list.GetProperty("responses").GetProperty("200")));
        Assert.Contains("sort_key", list.GetProperty("parameters").EnumerateArray().Select(p => Expect.Str(p, "name")));

        Assert.Equal("#/components/schemas/Members", Schema(paths.GetProperty("/v2/images/{id}/members").GetProperty("get").GetProperty("responses").GetProperty("200")));
        Assert.Equal("#/components/schemas/ImageProperties", Schema(paths.GetProperty("/v2/images/{id}/properties").GetProperty("get").GetProperty("responses").GetProperty("200")));
        Assert.Equal("#/components/schemas/ImageTasks", Schema(paths.GetProperty("/v2/images/{id}/tasks").GetProperty("get").GetProperty("responses").GetProperty("200")));

        // Every response of every operation names the request id header; every operation has the error body.
        foreach (var operation in paths.EnumerateObject().SelectMany(p => p.Value.EnumerateObject()).Where(o => o.Name != "parameters"))
        {
            var responses = operation.Value.GetProperty("responses");
            Assert.Equal("#/components/schemas/Error", Schema(responses.GetProperty("default")));
            Assert.All(responses.EnumerateObject(), r => Assert.True(r.Value.GetProperty("headers").TryGetProperty("x-openstack-request-id", out _), operation.Name));
        }
        var error = document.GetProperty("components").GetProperty("schemas").GetProperty("Error");
        Assert.Equal(["code", "message", "title"], error.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order());

        // And the error body it documents is what an error answers.
        var notFound = Expect.Error(await server.Client.GetAsync($"/v2/images/{Guid.NewGuid()}", Persona.P1), 404);
        Assert.Equal(["code", "message", "title"], notFound.Json.EnumerateObject().Select(p => p.Name).Order());
    }

    [Fact]
    public async Task The_document_the_reference_page_and_the_console_need_no_identity()
    {
        await using var server = new GlanceServer(_ => new Dictionary<string, string?> { ["Glance:Identity:UseDefaultIdentity"] = "false" });
        var api = server.Client;
        Expect.Error(await api.SendAsync(HttpMethod.Get, "/v2/images", null), 401);

        Expect.Status(await api.SendAsync(HttpMethod.Get, "/openapi/v1.json", null), 200);
        var docs = Expect.Status(await api.SendAsync(HttpMethod.Get, "/docs/", null), 200);
        Assert.Contains("scalar", docs.Text);
        var console = Expect.Status(await api.SendAsync(HttpMethod.Get, "/console/", null), 200);
        Assert.Contains("<title>Glance console</title>", console.Text);
        Assert.Equal("/console/", Expect.Status(await api.SendAsync(HttpMethod.Get, "/console", null), 302).Header("Location"));
        var script = Expect.Status(await api.SendAsync(HttpMethod.Get, "/console/console.js", null), 200);
        Assert.Equal("text/javascript", script.Message.Content.Headers.ContentType?.MediaType);
        Expect.Error(await api.SendAsync(HttpMethod.Get, "/console/missing.js", null), 404);
        // Version negotiation is untouched: a versioned path is still rewritten, an unknown one still 300.
        Expect.Error(await api.SendAsync(HttpMethod.Get, "/v2.16/images", null), 401);
        Expect.Status(await api.SendAsync(HttpMethod.Get, "/v3/images", null), 300);
    }

    private static async Task<JsonElement> DocumentAsync(GlanceClient api)
    {
        var response = Expect.Status(await api.SendAsync(HttpMethod.Get, "/openapi/v1.json", null), 200);
        return response.Json;
    }

    private static string? Schema(JsonElement response) =>
        response.GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString();

    /// <summary>The writer orders keywords its own way; compare values, not layout.</summary>
    private static string Normalized(JsonElement value) => JsonSerializer.Serialize(value);
}
