using System.Text.Json;
using Glance.Api.Images;
using Glance.Grains.Templates;

namespace Glance.Api.Templates;

/// <summary>The wire shapes of server templates (issue 12): templates, versions, members, renders.</summary>
public static class TemplateJson
{
    /// <summary>A template with its default version inlined as <c>version</c> (show, create, patch).</summary>
    public static void WriteView(Utf8JsonWriter w, TemplateView view)
    {
        WriteTemplate(w, view.Template, view.DefaultVersion);
    }

    /// <summary>A template as lists show it (no version inlined).</summary>
    public static void WriteSummary(Utf8JsonWriter w, TemplateRecord template) => WriteTemplate(w, template, null);

    private static void WriteTemplate(Utf8JsonWriter w, TemplateRecord t, TemplateVersion? version)
    {
        w.WriteStartObject();
        var id = t.Id.ToString();
        w.WriteString("id", id);
        w.WriteString("name", t.Name);
        w.WriteString("description", t.Description);
        w.WriteString("visibility", WireNames.Of(t.Visibility));
        w.WriteStartArray("tags");
        foreach (var tag in t.Tags)
        {
            w.WriteStringValue(tag);
        }
        w.WriteEndArray();
        w.WriteString("owner", t.Owner);
        w.WriteBoolean("protected", t.Protected);
        w.WriteNumber("default_version", t.DefaultVersion);
        w.WriteNumber("latest_version", t.LatestVersion);
        w.WriteString("created_at", ImageJson.Timestamp(t.CreatedAt));
        w.WriteString("updated_at", ImageJson.Timestamp(t.UpdatedAt));
        w.WriteString("self", $"/v2/templates/{id}");
        if (version is not null)
        {
            w.WritePropertyName("version");
            WriteVersion(w, version);
        }
        w.WriteEndObject();
    }

    /// <summary>
    /// A version: its number, creation time, source version, then the version object as stored. The
    /// stored JSON is canonical (written by the grain from a parsed object), so it is spliced in raw
    /// rather than parsed again on every read.
    /// </summary>
    public static void WriteVersion(Utf8JsonWriter w, TemplateVersion version)
    {
        var head = $"{{\"number\":{version.Number},\"created_at\":\"{ImageJson.Timestamp(version.CreatedAt)}\"" +
            (version.BasedOn is { } basedOn ? $",\"based_on\":{basedOn}" : "");
        var rest = version.Json.AsSpan(1).TrimStart();
        w.WriteRawValue(rest.Length > 0 && rest[0] == '}' ? head + "}" : head + "," + version.Json[(version.Json.Length - rest.Length)..], skipInputValidation: true);
    }

    /// <summary>A member, in the image member's shape with <c>template_id</c>.</summary>
    public static void WriteMember(Utf8JsonWriter w, TemplateMember member)
    {
        w.WriteStartObject();
        w.WriteString("created_at", ImageJson.Timestamp(member.CreatedAt));
        w.WriteString("template_id", member.TemplateId.ToString());
        w.WriteString("member_id", member.MemberId);
        w.WriteString("status", WireNames.Of(member.Status));
        w.WriteString("updated_at", ImageJson.Timestamp(member.UpdatedAt));
        w.WriteEndObject();
    }

    /// <summary>A render's answer.</summary>
    public static void WriteRender(Utf8JsonWriter w, RenderResult result)
    {
        w.WriteStartObject();
        w.WriteString("template_id", result.TemplateId.ToString());
        w.WriteNumber("version", result.Version);
        w.WriteString("image_id", result.ImageId.ToString());
        w.WriteString("user_data", result.UserData);
        w.WriteStartObject("outputs");
        foreach (var (name, value) in result.Outputs)
        {
            w.WriteString(name, value);
        }
        w.WriteEndObject();
        w.WriteStartObject("requirements");
        w.WriteNumber("min_ram", result.MinRam);
        w.WriteNumber("min_disk", result.MinDisk);
        w.WriteString("architecture", result.Architecture);
        w.WriteStartObject("properties");
        foreach (var (name, value) in result.Properties)
        {
            w.WriteString(name, value);
        }
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
