using System.Text.Json;
using Glance.Api.Hosting;
using Glance.Api.Identity;
using Glance.Api.Images;
using Glance.Api.Members;
using Glance.Grains.Templates;

namespace Glance.Api.Templates;

/// <summary>
/// Server templates over HTTP (<c>/v2/templates</c>, the <c>server-templates</c> extension): each
/// handler maps the request to one grain call and the answer back; the rules live in the grains.
/// </summary>
public static class TemplatesApi
{
    private static readonly HashSet<string> CreateFields = ["name", "description", "visibility", "tags", "protected", "version"];
    private static readonly HashSet<string> ListParameters = ["name", "tag", "visibility", "image_id", "owner", "member_status", "sort_key", "sort_dir", "marker", "limit"];

    /// <summary>Maps <c>/v2/templates</c> and its sub-resources.</summary>
    public static IEndpointRouteBuilder MapTemplatesApi(this IEndpointRouteBuilder app)
    {
        var templates = app.MapGroup("/v2/templates").WithTags("Templates");
        templates.MapPost("", CreateAsync).WithName("CreateTemplate").WithSummary("Create a server template with version 1 (201 + Location)");
        templates.MapGet("", ListAsync).RejectsBody().WithName("ListTemplates").WithSummary("List templates (name, tag, visibility, image_id, owner; sort; marker/limit)");
        templates.MapGet("{id}", ShowAsync).RejectsBody().WithName("ShowTemplate").WithSummary("Show a template with its default version");
        templates.MapPatch("{id}", UpdateAsync).WithName("UpdateTemplate").WithSummary("Update a template with a JSON patch");
        templates.MapDelete("{id}", DeleteAsync).RejectsBody().WithName("DeleteTemplate").WithSummary("Delete a template (204; protected: 403)");
        templates.MapPost("{id}/versions", CreateVersionAsync).WithName("CreateTemplateVersion").WithSummary("Add an immutable version (201)");
        templates.MapGet("{id}/versions", ListVersionsAsync).RejectsBody().WithName("ListTemplateVersions").WithSummary("List a template's versions");
        templates.MapGet("{id}/versions/{number}", ShowVersionAsync).RejectsBody().WithName("ShowTemplateVersion").WithSummary("Show a version (a number, $default or $latest)");
        templates.MapDelete("{id}/versions/{number}", DeleteVersionAsync).RejectsBody().WithName("DeleteTemplateVersion").WithSummary("Delete a version (204; the default version: 409)");
        templates.MapPost("{id}/render", RenderAsync).WithName("RenderTemplate").WithSummary("Render a version to cloud-config user_data");
        templates.MapPost("{id}/members", AddMemberAsync).WithName("AddTemplateMember").WithSummary("Share a template with a project");
        templates.MapGet("{id}/members", ListMembersAsync).RejectsBody().WithName("ListTemplateMembers").WithSummary("List a template's members");
        templates.MapGet("{id}/members/{member}", ShowMemberAsync).RejectsBody().WithName("ShowTemplateMember").WithSummary("Show one member");
        templates.MapPut("{id}/members/{member}", UpdateMemberAsync).WithName("UpdateTemplateMember").WithSummary("Accept, reject or reset a share (the member)");
        templates.MapDelete("{id}/members/{member}", RemoveMemberAsync).RejectsBody().WithName("DeleteTemplateMember").WithSummary("Stop sharing with a project (204)");
        return app;
    }

    private static ITemplateGrain Template(this IGrainFactory grains, string id) =>
        Guid.TryParse(id, out var templateId)
            ? grains.GetGrain<ITemplateGrain>(templateId)
            : throw GlanceException.NotFound($"No template found with ID {id}");

    private static async Task<JsonDocument> ReadObjectAsync(HttpContext context)
    {
        var body = await RequestBody.ReadJsonAsync(context.Request) ?? throw GlanceException.BadRequest("Body expected in request.");
        if (body.RootElement.ValueKind != JsonValueKind.Object)
        {
            body.Dispose();
            throw GlanceException.BadRequest("Request body must be a JSON object.");
        }
        return body;
    }

    private static async Task CreateAsync(HttpContext context, IGrainFactory grains)
    {
        using var body = await ReadObjectAsync(context);
        var root = body.RootElement;
        foreach (var field in root.EnumerateObject())
        {
            if (!CreateFields.Contains(field.Name))
            {
                throw GlanceException.BadRequest($"Templates have no attribute '{field.Name}' ({string.Join(", ", CreateFields)}).");
            }
        }
        var visibility = ImageVisibility.Private;
        if (root.TryGetProperty("visibility", out var v) && !(v.ValueKind == JsonValueKind.String && WireNames.TryParse(v.GetString(), out visibility)))
        {
            throw GlanceException.BadRequest("visibility must be one of public, private, shared, community.");
        }
        var draft = new TemplateDraft(
            String(root, "name"),
            String(root, "description"),
            visibility,
            root.TryGetProperty("tags", out var tags)
                ? tags.ValueKind == JsonValueKind.Array && tags.EnumerateArray().All(t => t.ValueKind == JsonValueKind.String)
                    ? [.. tags.EnumerateArray().Select(t => t.GetString()!)]
                    : throw GlanceException.BadRequest("tags must be a list of strings.")
                : [],
            root.TryGetProperty("protected", out var p)
                ? p.ValueKind is JsonValueKind.True or JsonValueKind.False ? p.GetBoolean() : throw GlanceException.BadRequest("protected must be a boolean.")
                : false,
            root.TryGetProperty("version", out var version) && version.ValueKind == JsonValueKind.Object
                ? version.GetRawText()
                : throw GlanceException.BadRequest("version (an object) is required: a template is created with its first version."));
        var view = await grains.GetGrain<ITemplateGrain>(Guid.NewGuid()).CreateAsync(context.Caller(), draft);
        context.Response.Headers.Location = $"{context.Request.Scheme}://{context.Request.Host}/v2/templates/{view.Template.Id}";
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status201Created, w => TemplateJson.WriteView(w, view));
    }

    private static string? String(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw GlanceException.BadRequest($"{name} must be a string.");

    private static async Task ListAsync(HttpContext context, IGrainFactory grains)
    {
        var parameters = context.Request.Query;
        foreach (var key in parameters.Keys)
        {
            if (!ListParameters.Contains(key))
            {
                throw GlanceException.BadRequest($"Unknown list parameter '{key}' ({string.Join(", ", ListParameters)}).");
            }
        }
        string? Last(string key) => parameters[key].LastOrDefault();
        var query = new TemplateQuery
        {
            Limit = Math.Min(ListQuery.Limit(parameters["limit"]), TemplateQuery.MaxLimit),
            Marker = ListQuery.Marker(parameters["marker"]),
            SortKey = Last("sort_key") switch
            {
                null or "created_at" => TemplateSortKey.CreatedAt,
                "updated_at" => TemplateSortKey.UpdatedAt,
                "name" => TemplateSortKey.Name,
                "id" => TemplateSortKey.Id,
                var other => throw GlanceException.BadRequest($"Unsupported sort_key {other} (created_at, updated_at, name, id)"),
            },
            Descending = Last("sort_dir") is not { } dir || ListQuery.Descending(dir),
            Visibility = Last("visibility") is { } visibility ? ListQuery.Visibility(visibility) : Grains.Catalog.VisibilityScope.Default,
            MemberStatus = Last("member_status") switch
            {
                null => MemberStatus.Accepted,
                "all" => null,
                var status => WireNames.TryParse(status, out MemberStatus s) ? s : throw GlanceException.BadRequest($"Invalid status: {status}"),
            },
            Name = Last("name"),
            Owner = Last("owner"),
            Tags = [.. parameters["tag"].OfType<string>()],
            ImageId = Last("image_id") is { } image
                ? Guid.TryParse(image, out var imageId) ? imageId : throw GlanceException.BadRequest($"image_id {image} is not a UUID.")
                : null,
        };
        var page = await grains.GetGrain<ITemplateCatalogGrain>(0).ListAsync(context.Caller(), query);
        var (first, next) = ListQuery.Links(parameters, page.IsEmpty ? null : page[^1].Id, "/v2/templates");
        var full = query.Limit > 0 && page.Length == query.Limit;
        await ImageJson.WritePageAsync(context, page,
            w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("templates");
            },
            TemplateJson.WriteSummary,
            w =>
            {
                w.WriteEndArray();
                w.WriteString("first", first);
                if (full)
                {
                    w.WriteString("next", next);
                }
                w.WriteEndObject();
            });
    }

    private static async Task ShowAsync(HttpContext context, string id, IGrainFactory grains)
    {
        var view = await grains.Template(id).GetAsync(context.Caller());
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w => TemplateJson.WriteView(w, view));
    }

    private static async Task UpdateAsync(HttpContext context, string id, IGrainFactory grains)
    {
        var mediaType = context.Request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (mediaType is not (PatchDocument.V21 or PatchDocument.V20 or "application/json-patch+json"))
        {
            context.Response.Headers["Accept-Patch"] = $"application/json-patch+json, {PatchDocument.V21}";
            throw new GlanceException(ErrorKind.UnsupportedMediaType, $"Unsupported Content-Type: {context.Request.ContentType}. Use application/json-patch+json.");
        }
        var grain = grains.Template(id);
        using var body = await RequestBody.ReadJsonAsync(context.Request);
        var view = await grain.UpdateAsync(context.Caller(), PatchDocument.Parse(body, v20: mediaType == PatchDocument.V20));
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w => TemplateJson.WriteView(w, view));
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, string id, IGrainFactory grains)
    {
        await grains.Template(id).DeleteAsync(context.Caller());
        return TypedResults.NoContent();
    }

    private static async Task CreateVersionAsync(HttpContext context, string id, IGrainFactory grains)
    {
        var grain = grains.Template(id);
        using var body = await ReadObjectAsync(context);
        int? basedOn = null;
        var fields = new Dictionary<string, JsonElement>();
        foreach (var field in body.RootElement.EnumerateObject())
        {
            if (field.Name == "based_on")
            {
                basedOn = field.Value.ValueKind == JsonValueKind.Number && field.Value.TryGetInt32(out var n)
                    ? n : throw GlanceException.BadRequest("based_on must be a version number.");
            }
            else
            {
                fields[field.Name] = field.Value;
            }
        }
        var version = await grain.CreateVersionAsync(context.Caller(), JsonSerializer.Serialize(fields), basedOn);
        context.Response.Headers.Location = $"{context.Request.Scheme}://{context.Request.Host}/v2/templates/{id}/versions/{version.Number}";
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status201Created, w => TemplateJson.WriteVersion(w, version));
    }

    private static async Task ListVersionsAsync(HttpContext context, string id, IGrainFactory grains) =>
        await ImageJson.WriteListAsync(context, "versions", await grains.Template(id).ListVersionsAsync(context.Caller()), TemplateJson.WriteVersion);

    private static async Task ShowVersionAsync(HttpContext context, string id, string number, IGrainFactory grains)
    {
        var version = await grains.Template(id).GetVersionAsync(context.Caller(), number);
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w => TemplateJson.WriteVersion(w, version));
    }

    private static async Task<IResult> DeleteVersionAsync(HttpContext context, string id, string number, IGrainFactory grains)
    {
        var grain = grains.Template(id);
        if (!int.TryParse(number, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n))
        {
            throw GlanceException.NotFound($"Version {number} of template {id} not found.");
        }
        await grain.DeleteVersionAsync(context.Caller(), n);
        return TypedResults.NoContent();
    }

    private static async Task RenderAsync(HttpContext context, string id, IGrainFactory grains)
    {
        if (!Guid.TryParse(id, out var templateId))
        {
            throw GlanceException.NotFound($"No template found with ID {id}");
        }
        using var body = await RequestBody.ReadJsonAsync(context.Request);
        var root = body?.RootElement;
        if (root is { ValueKind: not JsonValueKind.Object })
        {
            throw GlanceException.BadRequest("Request body must be a JSON object.");
        }
        var version = "$default";
        var parameters = "{}";
        if (root is { } fields)
        {
            foreach (var field in fields.EnumerateObject())
            {
                switch (field.Name)
                {
                    case "version":
                        version = field.Value.ValueKind switch
                        {
                            JsonValueKind.Number => field.Value.GetRawText(),
                            JsonValueKind.String => field.Value.GetString()!,
                            _ => throw GlanceException.BadRequest("version must be a number, '$default' or '$latest'."),
                        };
                        break;
                    case "parameters":
                        parameters = field.Value.ValueKind == JsonValueKind.Object
                            ? field.Value.GetRawText()
                            : throw GlanceException.BadRequest("parameters must be a JSON object.");
                        break;
                    default:
                        throw GlanceException.BadRequest($"A render request has no field '{field.Name}' (version, parameters).");
                }
            }
        }
        var result = await grains.GetGrain<ITemplateRenderGrain>(0).RenderAsync(context.Caller(), templateId, new RenderRequest(version, parameters));
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w => TemplateJson.WriteRender(w, result));
    }

    private static async Task AddMemberAsync(HttpContext context, string id, IGrainFactory grains)
    {
        var grain = grains.Template(id);
        var member = await grain.AddMemberAsync(context.Caller(), await MembersApi.ReadStringAsync(context, "member", "Member to be added not specified"));
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w => TemplateJson.WriteMember(w, member));
    }

    private static async Task ListMembersAsync(HttpContext context, string id, IGrainFactory grains) =>
        await ImageJson.WriteListAsync(context, "members", await grains.Template(id).ListMembersAsync(context.Caller()), TemplateJson.WriteMember);

    private static async Task ShowMemberAsync(HttpContext context, string id, string member, IGrainFactory grains)
    {
        var found = await grains.Template(id).GetMemberAsync(context.Caller(), member);
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w => TemplateJson.WriteMember(w, found));
    }

    private static async Task UpdateMemberAsync(HttpContext context, string id, string member, IGrainFactory grains)
    {
        var updated = await grains.Template(id).SetMemberStatusAsync(context.Caller(), member, await MembersApi.ReadStatusAsync(context));
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w => TemplateJson.WriteMember(w, updated));
    }

    private static async Task<IResult> RemoveMemberAsync(HttpContext context, string id, string member, IGrainFactory grains)
    {
        await grains.Template(id).RemoveMemberAsync(context.Caller(), member);
        return TypedResults.NoContent();
    }
}
