using System.Text.Json;
using System.Text.Json.Nodes;
using Glance.Api.Images;
using Glance.Api.Schemas;
using Glance.Grains.Properties;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using Microsoft.AspNetCore.Http.Metadata;

namespace Glance.Api.OpenApi;

/// <summary>
/// Completes the generated document: the handlers read and write Glance's JSON by hand, so
/// ApiExplorer sees neither bodies nor query parameters. This adds every route of the
/// <see cref="EndpointDataSource"/> that ApiExplorer left out, the schemas (the image schema is
/// built exactly as <c>/v2/schemas/image</c> is, with the operator's property definitions; the
/// other Glance records come from the same embedded documents as <c>/v2/schemas/*</c>), and per
/// operation its request media types, responses, headers and Glance's error shape.
/// </summary>
internal sealed class GlanceDocumentTransformer(EndpointDataSource endpoints, IGrainFactory grains) : IOpenApiDocumentTransformer
{
    private const string Json = "application/json";
    private const string OctetStream = "application/octet-stream";
    private const string RequestIdHeader = "x-openstack-request-id";

    public async Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "Glance.Orleans Images API",
            Version = "v2",
            Description = "OpenStack Glance Images API v2 (versions v2.0 to v2.16: `/v2.N/...` is served as `/v2/...`). " +
                "Identity: the default identity when no identity headers are sent (a developer machine), the " +
                "X-Project-Id / X-User-Id / X-Roles headers behind a trusted proxy, or X-Auth-Token with Keystone.",
        };
        // Relative: the document is the same whatever host or proxy it is reached through (and so cacheable).
        document.Servers = [new OpenApiServer { Url = "/", Description = "This service" }];
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        var definitions = await grains.PropertyDefinitions().ListAsync();
        foreach (var (name, schema) in Schemas(document, definitions))
        {
            document.Components.Schemas[name] = schema;
        }
        document.Components.SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>
        {
            ["keystone"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = "X-Auth-Token",
                Description = "A Keystone token (only when the service validates tokens against Keystone).",
            },
        };
        AddMissingRoutes(document);
        foreach (var (path, item) in document.Paths)
        {
            foreach (var (method, operation) in item.Operations ?? [])
            {
                Describe(document, path, method, operation);
            }
        }
    }

    /// <summary>Routes ApiExplorer does not describe (request-delegate handlers): every mapped route belongs in the reference.</summary>
    private void AddMissingRoutes(OpenApiDocument document)
    {
        foreach (var endpoint in endpoints.Endpoints.OfType<RouteEndpoint>())
        {
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods;
            if (methods is null || endpoint.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is { ExcludeFromDescription: true })
            {
                continue;
            }
            // As ApiExplorer writes it: a group's "" route has no trailing slash.
            var path = "/" + (endpoint.RoutePattern.RawText ?? "").Trim('/');
            if (!document.Paths.TryGetValue(path, out var found) || found is not OpenApiPathItem item)
            {
                item = new OpenApiPathItem();
                document.Paths[path] = item;
            }
            item.Operations ??= [];
            foreach (var method in methods)
            {
                var key = HttpMethod.Parse(method);
                if (item.Operations.ContainsKey(key))
                {
                    continue;
                }
                var operation = new OpenApiOperation
                {
                    OperationId = endpoint.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName,
                    Summary = endpoint.Metadata.GetMetadata<IEndpointSummaryMetadata>()?.Summary,
                };
                if (endpoint.Metadata.GetMetadata<ITagsMetadata>() is { } tags)
                {
                    operation.Tags = new HashSet<OpenApiTagReference>(tags.Tags.Select(t => new OpenApiTagReference(t, document)));
                }
                item.Operations[key] = operation;
            }
        }
    }

    /// <summary>An operation's bodies, responses and parameters, by its name (the routes' WithName).</summary>
    private static void Describe(OpenApiDocument document, string path, HttpMethod method, OpenApiOperation operation)
    {
        var name = operation.OperationId ?? "";
        var spec = Operations.Spec(name, method);
        if (spec.Request is { } request)
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = request.Required,
                Content = request.MediaTypes.ToDictionary(m => m, m => new OpenApiMediaType { Schema = SchemaFor(document, request.Schema) }),
            };
        }
        operation.Parameters ??= [];
        foreach (var parameter in spec.Query)
        {
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = parameter.Name, In = ParameterLocation.Query, Description = parameter.Description,
                Schema = new OpenApiSchema { Type = parameter.Type },
            });
        }
        // Path parameters of request-delegate routes.
        foreach (var segment in path.Split('/').Where(s => s.StartsWith('{') && s.EndsWith('}')).Select(s => s[1..^1]))
        {
            if (!operation.Parameters.Any(p => p.Name == segment && p.In == ParameterLocation.Path))
            {
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = segment, In = ParameterLocation.Path, Required = true, Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                });
            }
        }
        operation.Responses = new OpenApiResponses();
        foreach (var response in spec.Responses)
        {
            var headers = new Dictionary<string, IOpenApiHeader>
            {
                [RequestIdHeader] = Header("The request's id (req-<uuid>), also in the service's logs; a valid one sent by the client is kept."),
            };
            foreach (var (header, description) in response.Headers)
            {
                headers[header] = Header(description);
            }
            operation.Responses[response.Status] = new OpenApiResponse
            {
                Description = response.Description,
                Headers = headers,
                Content = response.Schema is null ? null : new Dictionary<string, OpenApiMediaType>
                {
                    [response.MediaType] = new() { Schema = SchemaFor(document, response.Schema) },
                },
            };
        }
        operation.Responses["default"] = new OpenApiResponse
        {
            Description = "An error in Glance's JSON shape (400, 401, 403, 404, 409, 413, 415, ...)",
            Headers = new Dictionary<string, IOpenApiHeader> { [RequestIdHeader] = Header("The request's id.") },
            Content = new Dictionary<string, OpenApiMediaType> { [Json] = new() { Schema = new OpenApiSchemaReference("Error", document) } },
        };
        if (path.StartsWith("/v2/", StringComparison.Ordinal) && !path.StartsWith("/v2/schemas", StringComparison.Ordinal))
        {
            operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("keystone", document)] = [] }];
        }
    }

    private static OpenApiHeader Header(string description) =>
        new() { Description = description, Schema = new OpenApiSchema { Type = JsonSchemaType.String } };

    /// <summary>A component by name, or the binary body of the data routes.</summary>
    private static IOpenApiSchema SchemaFor(OpenApiDocument document, string schema) => schema switch
    {
        Operations.Binary => new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" },
        Operations.Text => new OpenApiSchema { Type = JsonSchemaType.String },
        _ => new OpenApiSchemaReference(schema, document),
    };

    /// <summary>The components: Glance's own schema documents where Glance has them, the rest written here.</summary>
    private static IEnumerable<(string Name, IOpenApiSchema Schema)> Schemas(OpenApiDocument document, ImmutableArray<PropertyDefinition> definitions)
    {
        yield return ("Image", Parse(document, ImageSchemaDocument.Build(SchemasApi.Load("image"), definitions)));
        foreach (var (component, resource) in GlanceDocuments)
        {
            yield return (component, Parse(document, SchemasApi.Load(resource)));
        }
        foreach (var (component, json) in Handwritten)
        {
            yield return (component, Parse(document, System.Text.Encoding.UTF8.GetBytes(json)));
        }
    }

    private static readonly (string Component, string Resource)[] GlanceDocuments =
    [
        ("Images", "images"), ("Member", "member"), ("Members", "members"), ("Task", "task"), ("Tasks", "tasks"),
        ("MetadefNamespace", "metadefs-namespace"), ("MetadefNamespaces", "metadefs-namespaces"),
        ("MetadefObject", "metadefs-object"), ("MetadefObjects", "metadefs-objects"),
        ("MetadefProperty", "metadefs-property"), ("MetadefProperties", "metadefs-properties"),
        ("MetadefTag", "metadefs-tag"), ("MetadefTags", "metadefs-tags"),
        ("MetadefResourceTypeAssociation", "metadefs-resource_type"), ("MetadefResourceTypes", "metadefs-resource_types"),
    ];

    /// <summary>Records Glance publishes no schema for, in the shape the handlers write.</summary>
    private static readonly (string Component, string Json)[] Handwritten =
    [
        ("Error", """{"type":"object","description":"Glance's error body","required":["message","code","title"],"properties":{"message":{"type":"string"},"code":{"type":"string","description":"Status and title, e.g. \"404 Not Found\""},"title":{"type":"string"}}}"""),
        ("ImagePatch", """{"type":"array","description":"JSON patch (RFC 6902 subset) of image attributes, properties and tags; v2.0 patches use {\"replace\": \"/name\", \"value\": ...}","items":{"type":"object","required":["op","path"],"properties":{"op":{"type":"string","enum":["add","remove","replace"]},"path":{"type":"string","description":"/name, /visibility, /tags, /<property> ..."},"value":{}}}}"""),
        ("AddMember", """{"type":"object","required":["member"],"properties":{"member":{"type":"string","description":"The project to share with"}}}"""),
        ("MemberStatus", """{"type":"object","required":["status"],"properties":{"status":{"type":"string","enum":["pending","accepted","rejected"]}}}"""),
        ("ImportRequest", """{"type":"object","required":["method"],"properties":{"method":{"type":"object","required":["name"],"properties":{"name":{"type":"string","enum":["glance-direct","web-download","copy-image"]},"uri":{"type":"string","description":"web-download's source"}}},"stores":{"type":"array","items":{"type":"string"}},"all_stores":{"type":"boolean"},"all_stores_must_succeed":{"type":"boolean"}}}"""),
        ("ImportInfo", """{"type":"object","properties":{"import-methods":{"type":"object","properties":{"description":{"type":"string"},"type":{"type":"string"},"value":{"type":"array","items":{"type":"string"}}}}}}"""),
        ("ImageTask", """{"type":"object","description":"An import task of an image, with its progress while it runs","properties":{"id":{"type":"string"},"type":{"type":"string"},"status":{"type":"string","enum":["pending","processing","success","failure"]},"owner":{"type":"string"},"expires_at":{"type":["null","string"]},"created_at":{"type":"string"},"updated_at":{"type":"string"},"deleted_at":{"type":["null","string"]},"deleted":{"type":"boolean"},"image_id":{"type":["null","string"]},"request_id":{"type":["null","string"]},"user_id":{"type":["null","string"]},"input":{"type":["null","object"]},"result":{"type":["null","object"]},"message":{"type":"string"}}}"""),
        ("ImageTasks", """{"type":"object","properties":{"tasks":{"type":"array","items":{"$ref":"#/components/schemas/ImageTask"}}}}"""),
        ("ImageProperty", """{"type":"object","description":"A typed image property","properties":{"name":{"type":"string"},"value":{"description":"Any JSON value"},"type":{"type":"string","enum":["string","integer","number","boolean","array","object"]},"owner":{"type":"string"},"visibility":{"type":"string","enum":["public","private","shared","community"]},"protected":{"type":"boolean"},"description":{"type":["null","string"]},"created_at":{"type":"string"},"updated_at":{"type":"string"},"etag":{"type":"string"}}}"""),
        ("ImageProperties", """{"type":"object","properties":{"properties":{"type":"array","items":{"$ref":"#/components/schemas/ImageProperty"}}}}"""),
        ("ImagePropertyWrite", """{"type":"object","required":["value"],"properties":{"value":{"description":"Any JSON value but null"},"type":{"type":"string"},"visibility":{"type":"string"},"protected":{"type":"boolean"},"description":{"type":"string"}}}"""),
        ("PropertyDefinition", """{"type":"object","description":"An operator's typed property definition","properties":{"name":{"type":"string"},"type":{"type":"string","enum":["string","integer","number","boolean"]},"prefix":{"type":"boolean"},"enforced":{"type":"boolean"},"enum":{"type":"array","items":{"type":"string"}},"minimum":{"type":"number"},"maximum":{"type":"number"},"pattern":{"type":"string"},"max_length":{"type":"integer"},"description":{"type":"string"}}}"""),
        ("PropertyDefinitions", """{"type":"object","properties":{"definitions":{"type":"array","items":{"$ref":"#/components/schemas/PropertyDefinition"}}}}"""),
        ("Versions", """{"type":"object","properties":{"versions":{"type":"array","items":{"type":"object","properties":{"id":{"type":"string"},"status":{"type":"string","enum":["CURRENT","SUPPORTED"]},"links":{"type":"array","items":{"type":"object","properties":{"rel":{"type":"string"},"href":{"type":"string"}}}}}}}}}"""),
        ("Health", """{"type":"object","properties":{"status":{"type":"string","enum":["alive","ready","not ready"]},"checks":{"type":"object","additionalProperties":{"type":"object","properties":{"status":{"type":"string","enum":["ok","failed"]},"error":{"type":"string"}}}}}}"""),
        ("JsonSchema", """{"type":"object","description":"A JSON Schema document (draft 4), as Glance publishes it"}"""),
        ("Usage", """{"type":"object","properties":{"usage":{"type":"object"}}}"""),
    ];

    /// <summary>
    /// A Glance schema document as an OpenAPI 3.1 (JSON Schema 2020-12) schema: its <c>name</c>
    /// becomes the title, its <c>links</c> (hypermedia for glanceclient) are dropped, and its local
    /// <c>#/definitions/x</c> references are inlined (they would point into the OpenAPI document).
    /// </summary>
    private static OpenApiSchema Parse(OpenApiDocument document, byte[] json)
    {
        var root = JsonNode.Parse(json)!.AsObject();
        var definitions = root["definitions"] as JsonObject;
        root.Remove("definitions");
        root.Remove("links");
        if (root["name"] is JsonValue name)
        {
            root.Remove("name");
            root["title"] = name.GetValue<string>();
        }
        var inlined = Inline(root, definitions, depth: 0);
        var schema = OpenApiModelFactory.Parse<OpenApiSchema>(inlined.ToJsonString(), OpenApiSpecVersion.OpenApi3_1, document, out var diagnostic, "json");
        return schema is not null && diagnostic is not { Errors.Count: > 0 }
            ? schema
            : throw new InvalidOperationException($"Schema does not parse: {string.Join("; ", diagnostic?.Errors.Select(e => e.Message) ?? [])}");
    }

    /// <summary>Control characters the writer does not escape (it does escape tab, CR and LF).</summary>
    private static bool Unescaped(char c) => char.IsControl(c) && c is not ('\t' or '\n' or '\r');

    private static JsonNode Inline(JsonNode node, JsonObject? definitions, int depth)
    {
        switch (node)
        {
            case JsonObject o when o["$ref"] is JsonValue reference && reference.GetValue<string>().StartsWith("#/definitions/", StringComparison.Ordinal):
                var target = definitions?[reference.GetValue<string>()["#/definitions/".Length..]];
                return target is null || depth > 8 ? new JsonObject() : Inline(target.DeepClone(), definitions, depth + 1);
            case JsonObject o:
                var copy = new JsonObject();
                foreach (var (key, value) in o)
                {
                    // Glance's own keyword: the value says whether the attribute is a base one.
                    copy[key == "is_base" ? "x-is_base" : key] = value is null ? null : Inline(value, definitions, depth);
                }
                return copy;
            case JsonArray a:
                return new JsonArray([.. a.Select(v => v is null ? null : Inline(v, definitions, depth))]);
            case JsonValue v when v.TryGetValue<string>(out var text) && text.Any(Unescaped):
                // Microsoft.OpenApi's writer puts control characters into its JSON unescaped (invalid
                // JSON); an operator's pattern may hold one. Written as \uXXXX they mean the same to
                // a regular expression (ECMA-262) and stay readable in a description.
                return JsonValue.Create(string.Concat(text.Select(c => Unescaped(c) ? $"\\u{(int)c:x4}" : c.ToString())));
            default:
                return node.DeepClone();
        }
    }
}
