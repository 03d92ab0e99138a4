using System.Globalization;
using System.Text;
using System.Text.Json;
using Glance.Api.Hosting;
using Glance.Api.Identity;
using Glance.Api.Images;
using Glance.Grains.Metadefs;

namespace Glance.Api.Metadefs;

/// <summary>
/// <c>/v2/metadefs</c>, Glance's metadata definitions API: namespaces and their objects,
/// properties, tags and resource type associations, and the resource types. Each handler reads
/// the request (query, body) as Glance does, makes one call to <see cref="IMetadefsGrain"/>,
/// where the rules are, and writes Glance's answer.
/// </summary>
public static class MetadefsApi
{
    /// <summary>Glance's <c>limit_param_default</c> and <c>api_limit_max</c>.</summary>
    private const int DefaultLimit = 25, MaxLimit = 1000;

    /// <summary>Maps every metadefs route.</summary>
    public static IEndpointRouteBuilder MapMetadefsApi(this IEndpointRouteBuilder app)
    {
        var metadefs = app.MapGroup("/v2/metadefs").WithTags("Metadefs");
        metadefs.MapGet("resource_types", ListResourceTypesAsync).RejectsBody().WithName("ListMetadefResourceTypes").WithSummary("List resource types");

        var namespaces = metadefs.MapGroup("namespaces");
        namespaces.MapGet("", ListNamespacesAsync).RejectsBody().WithName("ListMetadefNamespaces").WithSummary("List namespaces (filters, sort, marker/limit)");
        namespaces.MapPost("", CreateNamespaceAsync).WithName("CreateMetadefNamespace").WithSummary("Create a namespace with its contents (admin, 201)");
        namespaces.MapGet("{namespace}", ShowNamespaceAsync).RejectsBody().WithName("ShowMetadefNamespace").WithSummary("Show a namespace with its contents");
        namespaces.MapPut("{namespace}", UpdateNamespaceAsync).WithName("UpdateMetadefNamespace").WithSummary("Update a namespace (admin)");
        namespaces.MapDelete("{namespace}", DeleteNamespaceAsync).RejectsBody().WithName("DeleteMetadefNamespace").WithSummary("Delete a namespace (admin, 204)");

        namespaces.MapGet("{namespace}/objects", ListObjectsAsync).RejectsBody().WithName("ListMetadefObjects").WithSummary("List a namespace's objects");
        namespaces.MapPost("{namespace}/objects", CreateObjectAsync).WithName("CreateMetadefObject").WithSummary("Create an object (admin, 201)");
        namespaces.MapDelete("{namespace}/objects", DeleteObjectsAsync).RejectsBody().WithName("DeleteMetadefObjects").WithSummary("Delete every object (admin, 204)");
        namespaces.MapGet("{namespace}/objects/{object}", ShowObjectAsync).RejectsBody().WithName("ShowMetadefObject").WithSummary("Show an object");
        namespaces.MapPut("{namespace}/objects/{object}", UpdateObjectAsync).WithName("UpdateMetadefObject").WithSummary("Update an object (admin)");
        namespaces.MapDelete("{namespace}/objects/{object}", DeleteObjectAsync).RejectsBody().WithName("DeleteMetadefObject").WithSummary("Delete an object (admin, 204)");

        namespaces.MapGet("{namespace}/properties", ListPropertiesAsync).RejectsBody().WithName("ListMetadefProperties").WithSummary("List a namespace's properties");
        namespaces.MapPost("{namespace}/properties", CreatePropertyAsync).WithName("CreateMetadefProperty").WithSummary("Create a property (admin, 201)");
        namespaces.MapDelete("{namespace}/properties", DeletePropertiesAsync).RejectsBody().WithName("DeleteMetadefProperties").WithSummary("Delete every property (admin, 204)");
        namespaces.MapGet("{namespace}/properties/{property}", ShowPropertyAsync).RejectsBody().WithName("ShowMetadefProperty").WithSummary("Show a property");
        namespaces.MapPut("{namespace}/properties/{property}", UpdatePropertyAsync).WithName("UpdateMetadefProperty").WithSummary("Update a property (admin)");
        namespaces.MapDelete("{namespace}/properties/{property}", DeletePropertyAsync).RejectsBody().WithName("DeleteMetadefProperty").WithSummary("Delete a property (admin, 204)");

        namespaces.MapGet("{namespace}/tags", ListTagsAsync).RejectsBody().WithName("ListMetadefTags").WithSummary("List a namespace's tags");
        namespaces.MapPost("{namespace}/tags", CreateTagsAsync).WithName("CreateMetadefTags").WithSummary("Create tags, replacing or appending (X-Openstack-Append) (admin, 201)");
        namespaces.MapDelete("{namespace}/tags", DeleteTagsAsync).RejectsBody().WithName("DeleteMetadefTags").WithSummary("Delete every tag (admin, 204)");
        namespaces.MapGet("{namespace}/tags/{tag}", ShowTagAsync).RejectsBody().WithName("ShowMetadefTag").WithSummary("Show a tag");
        namespaces.MapPost("{namespace}/tags/{tag}", CreateTagAsync).RejectsBody().WithName("CreateMetadefTag").WithSummary("Create a tag (admin, 201)");
        namespaces.MapPut("{namespace}/tags/{tag}", UpdateTagAsync).WithName("UpdateMetadefTag").WithSummary("Rename a tag (admin)");
        namespaces.MapDelete("{namespace}/tags/{tag}", DeleteTagAsync).RejectsBody().WithName("DeleteMetadefTag").WithSummary("Delete a tag (admin, 204)");

        namespaces.MapGet("{namespace}/resource_types", ListAssociationsAsync).RejectsBody().WithName("ListMetadefResourceTypeAssociations").WithSummary("List a namespace's resource type associations");
        namespaces.MapPost("{namespace}/resource_types", AssociateAsync).WithName("CreateMetadefResourceTypeAssociation").WithSummary("Associate a resource type (admin, 201)");
        namespaces.MapDelete("{namespace}/resource_types/{resource_type}", DissociateAsync).RejectsBody().WithName("DeleteMetadefResourceTypeAssociation").WithSummary("Remove an association (admin, 204)");
        return app;
    }

    // --- namespaces -----------------------------------------------------------------------

    private static async Task ListNamespacesAsync(HttpContext context, IGrainFactory grains)
    {
        var parameters = context.Request.Query;
        var sortKey = Last(parameters, "sort_key") ?? "created_at";
        if (!NamespaceQuery.SortKeys.Contains(sortKey))
        {
            throw GlanceException.BadRequest($"Invalid sort key: {sortKey}");
        }
        var query = new NamespaceQuery
        {
            Limit = Math.Min(MaxLimit, Limit(Last(parameters, "limit"), zeroAllowed: true) ?? DefaultLimit),
            Marker = Last(parameters, "marker"),
            SortKey = sortKey,
            Ascending = Ascending(parameters),
            Visibility = Visibility(parameters, "public", "private"),
            ResourceTypes = Last(parameters, "resource_types") is { } types ? [.. types.Split(',')] : [],
        };
        var page = await grains.Metadefs().ListNamespacesAsync(context.Caller(), query);
        var pairs = parameters.Where(p => p.Key != "marker").Select(p => (p.Key, Value: p.Value.LastOrDefault() ?? "")).ToList();
        var first = "/v2/metadefs/namespaces" + Encode(pairs);
        string? next = null;
        if (page.Length > 0 && page.Length == query.Limit)
        {
            next = "/v2/metadefs/namespaces" + Encode([.. pairs, ("marker", page[^1].Namespace)]);
        }
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("namespaces");
            foreach (var ns in page)
            {
                MetadefJson.WriteNamespace(w, ns, NamespaceView.Listed);
            }
            w.WriteEndArray();
            if (next is not null)
            {
                w.WriteString("next", next);
            }
            w.WriteString("schema", "/v2/schemas/metadefs/namespaces");
            w.WriteString("first", first);
            w.WriteEndObject();
        });
    }

    private static async Task CreateNamespaceAsync(HttpContext context, IGrainFactory grains)
    {
        using var body = await MetadefBodies.ReadAsync(context.Request);
        var created = await grains.Metadefs().CreateNamespaceAsync(context.Caller(), MetadefBodies.Namespace(body.RootElement));
        // A header carries ASCII only: a namespace name may not (the body's "self" keeps it as sent).
        context.Response.Headers.Location = $"{context.Request.Scheme}://{context.Request.Host}/v2/metadefs/namespaces/{Uri.EscapeDataString(created.Namespace).Replace("%3A", ":", StringComparison.Ordinal)}";
        await Write(context, StatusCodes.Status201Created, w => MetadefJson.WriteNamespace(w, created, NamespaceView.Created));
    }

    private static async Task ShowNamespaceAsync(HttpContext context, string @namespace, IGrainFactory grains)
    {
        Visibility(context.Request.Query, "public", "private");
        var ns = await grains.Metadefs().GetNamespaceAsync(context.Caller(), @namespace);
        // ?resource_type=X shows the property names as they apply to X (with its association's prefix).
        var prefix = Last(context.Request.Query, "resource_type") is { Length: > 0 } type
            ? ns.ResourceTypes.FirstOrDefault(a => a.Name == type)?.Prefix
            : null;
        await Write(context, StatusCodes.Status200OK, w => MetadefJson.WriteNamespace(w, ns, NamespaceView.Shown, prefix));
    }

    private static async Task UpdateNamespaceAsync(HttpContext context, string @namespace, IGrainFactory grains)
    {
        using var body = await MetadefBodies.ReadAsync(context.Request);
        var updated = await grains.Metadefs().UpdateNamespaceAsync(context.Caller(), @namespace, MetadefBodies.NamespaceUpdate(body.RootElement));
        await Write(context, StatusCodes.Status200OK, w => MetadefJson.WriteNamespace(w, updated, NamespaceView.Updated));
    }

    private static async Task<IResult> DeleteNamespaceAsync(HttpContext context, string @namespace, IGrainFactory grains)
    {
        await grains.Metadefs().DeleteNamespaceAsync(context.Caller(), @namespace);
        return TypedResults.NoContent();
    }

    // --- objects --------------------------------------------------------------------------

    private static async Task ListObjectsAsync(HttpContext context, string @namespace, IGrainFactory grains)
    {
        // Checked as Glance checks them, though its objects list takes neither limit nor marker.
        Limit(Last(context.Request.Query, "limit"), zeroAllowed: false);
        Ascending(context.Request.Query);
        Visibility(context.Request.Query, "public", "private", "shared");
        var objects = await grains.Metadefs().ListObjectsAsync(context.Caller(), @namespace);
        await Write(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("objects");
            foreach (var item in objects)
            {
                MetadefJson.WriteObject(w, @namespace, item, MetadefJson.ObjectView.Stored);
            }
            w.WriteEndArray();
            // Sic: Glance's link lacks the leading slash.
            w.WriteString("schema", "v2/schemas/metadefs/objects");
            w.WriteEndObject();
        });
    }

    private static async Task CreateObjectAsync(HttpContext context, string @namespace, IGrainFactory grains)
    {
        using var body = await MetadefBodies.ReadAsync(context.Request);
        var created = await grains.Metadefs().CreateObjectAsync(context.Caller(), @namespace, MetadefBodies.Object(body.RootElement));
        await Write(context, StatusCodes.Status201Created, w => MetadefJson.WriteObject(w, @namespace, created, MetadefJson.ObjectView.Written));
    }

    private static async Task ShowObjectAsync(HttpContext context, string @namespace, string @object, IGrainFactory grains)
    {
        var item = await grains.Metadefs().GetObjectAsync(context.Caller(), @namespace, @object);
        await Write(context, StatusCodes.Status200OK, w => MetadefJson.WriteObject(w, @namespace, item, MetadefJson.ObjectView.Stored));
    }

    private static async Task UpdateObjectAsync(HttpContext context, string @namespace, string @object, IGrainFactory grains)
    {
        using var body = await MetadefBodies.ReadAsync(context.Request);
        var updated = await grains.Metadefs().UpdateObjectAsync(context.Caller(), @namespace, @object, MetadefBodies.Object(body.RootElement));
        await Write(context, StatusCodes.Status200OK, w => MetadefJson.WriteObject(w, @namespace, updated, MetadefJson.ObjectView.Written));
    }

    private static async Task<IResult> DeleteObjectAsync(HttpContext context, string @namespace, string @object, IGrainFactory grains)
    {
        await grains.Metadefs().DeleteObjectAsync(context.Caller(), @namespace, @object);
        return TypedResults.NoContent();
    }

    private static Task<IResult> DeleteObjectsAsync(HttpContext context, string @namespace, IGrainFactory grains) =>
        DeleteContentsAsync(context, @namespace, grains, MetadefContents.Objects);

    // --- properties -----------------------------------------------------------------------

    private static async Task ListPropertiesAsync(HttpContext context, string @namespace, IGrainFactory grains)
    {
        var properties = await grains.Metadefs().ListPropertiesAsync(context.Caller(), @namespace);
        await Write(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WritePropertyName("properties");
            MetadefJson.WriteProperties(w, properties);
            w.WriteEndObject();
        });
    }

    private static async Task CreatePropertyAsync(HttpContext context, string @namespace, IGrainFactory grains)
    {
        using var body = await MetadefBodies.ReadAsync(context.Request);
        var created = await grains.Metadefs().CreatePropertyAsync(context.Caller(), @namespace, MetadefBodies.Property(body.RootElement));
        await Write(context, StatusCodes.Status201Created, w => MetadefJson.WriteProperty(w, created));
    }

    private static async Task ShowPropertyAsync(HttpContext context, string @namespace, string property, IGrainFactory grains)
    {
        var resourceType = Last(context.Request.Query, "resource_type") is { Length: > 0 } type ? type : null;
        var found = await grains.Metadefs().GetPropertyAsync(context.Caller(), @namespace, property, resourceType);
        await Write(context, StatusCodes.Status200OK, w => MetadefJson.WriteProperty(w, found));
    }

    private static async Task UpdatePropertyAsync(HttpContext context, string @namespace, string property, IGrainFactory grains)
    {
        using var body = await MetadefBodies.ReadAsync(context.Request);
        var updated = await grains.Metadefs().UpdatePropertyAsync(context.Caller(), @namespace, property, MetadefBodies.Property(body.RootElement));
        await Write(context, StatusCodes.Status200OK, w => MetadefJson.WriteProperty(w, updated));
    }

    private static async Task<IResult> DeletePropertyAsync(HttpContext context, string @namespace, string property, IGrainFactory grains)
    {
        await grains.Metadefs().DeletePropertyAsync(context.Caller(), @namespace, property);
        return TypedResults.NoContent();
    }

    private static Task<IResult> DeletePropertiesAsync(HttpContext context, string @namespace, IGrainFactory grains) =>
        DeleteContentsAsync(context, @namespace, grains, MetadefContents.Properties);

    // --- tags -----------------------------------------------------------------------------

    private static async Task ListTagsAsync(HttpContext context, string @namespace, IGrainFactory grains)
    {
        var parameters = context.Request.Query;
        var sortKey = Last(parameters, "sort_key") ?? "created_at";
        if (!TagQuery.SortKeys.Contains(sortKey))
        {
            throw GlanceException.BadRequest($"Invalid sort key: {sortKey}");
        }
        var query = new TagQuery
        {
            // Glance ignores an empty limit or marker.
            Limit = Last(parameters, "limit") is { Length: > 0 } limit ? Limit(limit, zeroAllowed: true) : null,
            Marker = Last(parameters, "marker") is { Length: > 0 } marker ? marker : null,
            SortKey = sortKey,
            Ascending = Ascending(parameters),
        };
        Visibility(parameters, "public", "private", "shared");
        var tags = await grains.Metadefs().ListTagsAsync(context.Caller(), @namespace, query);
        await Write(context, StatusCodes.Status200OK, w => WriteTags(w, tags));
    }

    private static async Task CreateTagsAsync(HttpContext context, string @namespace, IGrainFactory grains)
    {
        using var body = await MetadefBodies.ReadAsync(context.Request);
        var names = MetadefBodies.Tags(body.RootElement);
        var created = await grains.Metadefs().CreateTagsAsync(context.Caller(), @namespace, names, Append(context.Request));
        await Write(context, StatusCodes.Status201Created, w => WriteTags(w, created.IsEmpty ? [] : created));
    }

    private static async Task ShowTagAsync(HttpContext context, string @namespace, string tag, IGrainFactory grains)
    {
        var found = await grains.Metadefs().GetTagAsync(context.Caller(), @namespace, tag);
        await Write(context, StatusCodes.Status200OK, w => MetadefJson.WriteTag(w, found, withTimes: true));
    }

    private static async Task CreateTagAsync(HttpContext context, string @namespace, string tag, IGrainFactory grains)
    {
        var created = await grains.Metadefs().CreateTagAsync(context.Caller(), @namespace, MetadefBodies.TagName(tag));
        await Write(context, StatusCodes.Status201Created, w => MetadefJson.WriteTag(w, created, withTimes: true));
    }

    private static async Task UpdateTagAsync(HttpContext context, string @namespace, string tag, IGrainFactory grains)
    {
        using var body = await MetadefBodies.ReadAsync(context.Request);
        var updated = await grains.Metadefs().UpdateTagAsync(context.Caller(), @namespace, tag, MetadefBodies.TagUpdate(body.RootElement));
        await Write(context, StatusCodes.Status200OK, w => MetadefJson.WriteTag(w, updated, withTimes: true));
    }

    private static async Task<IResult> DeleteTagAsync(HttpContext context, string @namespace, string tag, IGrainFactory grains)
    {
        await grains.Metadefs().DeleteTagAsync(context.Caller(), @namespace, tag);
        return TypedResults.NoContent();
    }

    private static Task<IResult> DeleteTagsAsync(HttpContext context, string @namespace, IGrainFactory grains) =>
        DeleteContentsAsync(context, @namespace, grains, MetadefContents.Tags);

    private static void WriteTags(Utf8JsonWriter w, IEnumerable<MetadefTag> tags)
    {
        w.WriteStartObject();
        w.WriteStartArray("tags");
        foreach (var tag in tags)
        {
            MetadefJson.WriteTag(w, tag, withTimes: false);
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary><c>X-Openstack-Append</c> as oslo's <c>bool_from_string</c> reads it (anything else: replace).</summary>
    private static bool Append(HttpRequest request) =>
        request.Headers["X-Openstack-Append"].ToString().Trim().ToLowerInvariant() is "1" or "t" or "true" or "on" or "y" or "yes";

    // --- resource types -------------------------------------------------------------------

    private static async Task ListResourceTypesAsync(HttpContext context, IGrainFactory grains)
    {
        var types = await grains.Metadefs().ListResourceTypesAsync(context.Caller());
        await ImageJson.WriteListAsync(context, "resource_types", types, MetadefJson.WriteResourceType);
    }

    private static async Task ListAssociationsAsync(HttpContext context, string @namespace, IGrainFactory grains)
    {
        var associations = await grains.Metadefs().ListAssociationsAsync(context.Caller(), @namespace);
        await ImageJson.WriteListAsync(context, "resource_type_associations", associations, (w, a) => MetadefJson.WriteAssociation(w, a));
    }

    private static async Task AssociateAsync(HttpContext context, string @namespace, IGrainFactory grains)
    {
        using var body = await MetadefBodies.ReadAsync(context.Request);
        var created = await grains.Metadefs().AssociateAsync(context.Caller(), @namespace, MetadefBodies.Association(body.RootElement));
        await Write(context, StatusCodes.Status201Created, w => MetadefJson.WriteAssociation(w, created));
    }

    private static async Task<IResult> DissociateAsync(HttpContext context, string @namespace, string resource_type, IGrainFactory grains)
    {
        await grains.Metadefs().DissociateAsync(context.Caller(), @namespace, resource_type);
        return TypedResults.NoContent();
    }

    // --- helpers --------------------------------------------------------------------------

    private static async Task<IResult> DeleteContentsAsync(HttpContext context, string @namespace, IGrainFactory grains, MetadefContents contents)
    {
        await grains.Metadefs().DeleteContentsAsync(context.Caller(), @namespace, contents);
        return TypedResults.NoContent();
    }

    private static Task Write(HttpContext context, int status, Action<Utf8JsonWriter> write) => ImageJson.WriteBodyAsync(context, status, write);

    /// <summary>A parameter's last value, as webob's dictionary of the query keeps it.</summary>
    private static string? Last(IQueryCollection parameters, string name) =>
        parameters.TryGetValue(name, out var values) ? values.LastOrDefault() : null;

    private static int? Limit(string? text, bool zeroAllowed)
    {
        if (text is null)
        {
            return null;
        }
        if (!int.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var limit))
        {
            throw GlanceException.BadRequest("limit param must be an integer");
        }
        return limit < 0 || (limit == 0 && !zeroAllowed) ? throw GlanceException.BadRequest("limit param must be positive") : limit;
    }

    private static bool Ascending(IQueryCollection parameters) => (Last(parameters, "sort_dir") ?? "desc") switch
    {
        "asc" => true,
        "desc" => false,
        var other => throw GlanceException.BadRequest($"Invalid sort direction: {other}"),
    };

    private static string? Visibility(IQueryCollection parameters, params string[] allowed) =>
        Last(parameters, "visibility") is { Length: > 0 } visibility
            ? allowed.Contains(visibility) ? visibility : throw GlanceException.BadRequest($"Invalid visibility value: {visibility}")
            : null;

    /// <summary>Python's <c>urlencode</c> (quote_plus), which Glance's links use.</summary>
    private static string Encode(IEnumerable<(string Key, string Value)> pairs)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in pairs)
        {
            text.Append(text.Length == 0 ? '?' : '&').Append(Plus(key)).Append('=').Append(Plus(value));
        }
        return text.ToString();
    }

    private static string Plus(string text) => Uri.EscapeDataString(text).Replace("%20", "+");
}
