using System.Globalization;
using System.Text.Json;
using Glance.Api.Images;
using Glance.Grains.Metadefs;

namespace Glance.Api.Metadefs;

/// <summary>What a namespace answer shows, as Glance's answers differ by call.</summary>
public enum NamespaceView
{
    /// <summary>A list item: the namespace and its resource type associations.</summary>
    Listed,
    /// <summary>GET: everything, stored form (times, links).</summary>
    Shown,
    /// <summary>The create answer: the request's contents echoed, without their times.</summary>
    Created,
    /// <summary>The update answer: the namespace's own fields only.</summary>
    Updated,
}

/// <summary>
/// Metadefs in Glance's JSON shapes (wsme's: attributes in the model's order, unset ones left
/// out, times in whole seconds with a Z).
/// </summary>
public static class MetadefJson
{
    /// <summary>The href of a namespace.</summary>
    public static string Href(string ns) => $"/v2/metadefs/namespaces/{ns}";

    /// <summary>Writes a namespace; with <paramref name="prefix"/> (a <c>resource_type</c> show) property names carry it.</summary>
    public static void WriteNamespace(Utf8JsonWriter w, MetadefNamespace ns, NamespaceView view, string? prefix = null)
    {
        w.WriteStartObject();
        w.WriteString("namespace", ns.Namespace);
        Optional(w, "display_name", ns.DisplayName);
        Optional(w, "description", ns.Description);
        w.WriteString("visibility", ns.Visibility);
        w.WriteBoolean("protected", ns.Protected);
        Optional(w, "owner", ns.Owner);
        WriteTimes(w, ns.CreatedAt, ns.UpdatedAt);
        if (view != NamespaceView.Updated && !ns.ResourceTypes.IsEmpty)
        {
            w.WriteStartArray("resource_type_associations");
            foreach (var association in ns.ResourceTypes)
            {
                WriteAssociation(w, association, withTimes: view != NamespaceView.Created);
            }
            w.WriteEndArray();
        }
        if (view is NamespaceView.Shown or NamespaceView.Created)
        {
            if (!ns.Properties.IsEmpty)
            {
                w.WritePropertyName("properties");
                WriteProperties(w, ns.Properties, prefix ?? "");
            }
            if (!ns.Objects.IsEmpty)
            {
                w.WriteStartArray("objects");
                foreach (var item in ns.Objects)
                {
                    WriteObject(w, ns.Namespace, item, view == NamespaceView.Created ? ObjectView.Echoed : ObjectView.Stored, prefix ?? "");
                }
                w.WriteEndArray();
            }
            if (!ns.Tags.IsEmpty)
            {
                w.WriteStartArray("tags");
                // Glance lists a namespace's tags newest first (created_at desc, id desc); its create answer echoes the request.
                var tags = view == NamespaceView.Created ? ns.Tags : [.. ns.Tags.OrderByDescending(t => t.CreatedAt).ThenByDescending(t => t.Sequence)];
                foreach (var tag in tags)
                {
                    WriteTag(w, tag, withTimes: false);
                }
                w.WriteEndArray();
            }
        }
        w.WriteString("self", Href(ns.Namespace));
        w.WriteString("schema", "/v2/schemas/metadefs/namespace");
        w.WriteEndObject();
    }

    /// <summary>How an object is shown.</summary>
    public enum ObjectView
    {
        /// <summary>GET, lists, namespace show: required and properties always, times and links.</summary>
        Stored,
        /// <summary>Inside a namespace create answer: the request as given.</summary>
        Echoed,
        /// <summary>Object create and update answers: the request as given, with times and links.</summary>
        Written,
    }

    /// <summary>Writes an object.</summary>
    public static void WriteObject(Utf8JsonWriter w, string ns, MetadefObject item, ObjectView view, string prefix = "")
    {
        w.WriteStartObject();
        w.WriteString("name", item.Name);
        if (item.Required is { } required || view == ObjectView.Stored)
        {
            w.WriteStartArray("required");
            foreach (var name in item.Required ?? [])
            {
                w.WriteStringValue(prefix + name);
            }
            w.WriteEndArray();
        }
        Optional(w, "description", item.Description);
        if (item.Properties is not null || view == ObjectView.Stored)
        {
            w.WritePropertyName("properties");
            WriteProperties(w, item.Properties ?? [], prefix);
        }
        if (view != ObjectView.Echoed)
        {
            WriteTimes(w, item.CreatedAt, item.UpdatedAt);
            w.WriteString("self", $"{Href(ns)}/objects/{item.Name}");
            w.WriteString("schema", "/v2/schemas/metadefs/object");
        }
        w.WriteEndObject();
    }

    /// <summary>Writes properties as Glance's dictionary, keyed by name (with <paramref name="prefix"/>).</summary>
    public static void WriteProperties(Utf8JsonWriter w, IEnumerable<MetadefProperty> properties, string prefix = "")
    {
        w.WriteStartObject();
        foreach (var property in properties)
        {
            w.WritePropertyName(prefix + property.Name);
            WriteProperty(w, property, property.NameInSchema);
        }
        w.WriteEndObject();
    }

    /// <summary>Writes one property (with its name: the single-property answers always have it).</summary>
    public static void WriteProperty(Utf8JsonWriter w, MetadefProperty p, bool withName = true)
    {
        w.WriteStartObject();
        if (withName)
        {
            w.WriteString("name", p.Name);
        }
        Optional(w, "type", p.Type);
        Optional(w, "title", p.Title);
        Optional(w, "description", p.Description);
        Strings(w, "operators", p.Operators);
        if (p.DefaultJson is { } defaultJson)
        {
            w.WritePropertyName("default");
            w.WriteRawValue(defaultJson);
        }
        Optional(w, "readonly", p.Readonly);
        Number(w, "minimum", p.Minimum);
        Number(w, "maximum", p.Maximum);
        Strings(w, "enum", p.Enum);
        Optional(w, "pattern", p.Pattern);
        Number(w, "minLength", p.MinLength);
        Number(w, "maxLength", p.MaxLength);
        Optional(w, "confidential", p.Confidential);
        if (p.Items is { } items)
        {
            w.WriteStartObject("items");
            Optional(w, "type", items.Type);
            Strings(w, "enum", items.Enum);
            w.WriteEndObject();
        }
        Optional(w, "uniqueItems", p.UniqueItems);
        Number(w, "minItems", p.MinItems);
        Number(w, "maxItems", p.MaxItems);
        Optional(w, "additionalItems", p.AdditionalItems);
        w.WriteEndObject();
    }

    /// <summary>Writes a tag: its name, and its times where Glance shows them.</summary>
    public static void WriteTag(Utf8JsonWriter w, MetadefTag tag, bool withTimes)
    {
        w.WriteStartObject();
        w.WriteString("name", tag.Name);
        if (withTimes)
        {
            WriteTimes(w, tag.CreatedAt, tag.UpdatedAt);
        }
        w.WriteEndObject();
    }

    /// <summary>Writes a resource type association.</summary>
    public static void WriteAssociation(Utf8JsonWriter w, MetadefAssociation association, bool withTimes = true)
    {
        w.WriteStartObject();
        w.WriteString("name", association.Name);
        Optional(w, "prefix", association.Prefix);
        Optional(w, "properties_target", association.PropertiesTarget);
        if (withTimes)
        {
            WriteTimes(w, association.CreatedAt, association.UpdatedAt);
        }
        w.WriteEndObject();
    }

    /// <summary>Writes a resource type.</summary>
    public static void WriteResourceType(Utf8JsonWriter w, MetadefResourceType type)
    {
        w.WriteStartObject();
        w.WriteString("name", type.Name);
        WriteTimes(w, type.CreatedAt, type.UpdatedAt);
        w.WriteEndObject();
    }

    private static void WriteTimes(Utf8JsonWriter w, DateTimeOffset created, DateTimeOffset? updated)
    {
        w.WriteString("created_at", ImageJson.Timestamp(created));
        if (updated is { } time)
        {
            w.WriteString("updated_at", ImageJson.Timestamp(time));
        }
    }

    private static void Optional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static void Optional(Utf8JsonWriter w, string name, bool? value)
    {
        if (value is { } flag)
        {
            w.WriteBoolean(name, flag);
        }
    }

    private static void Strings(Utf8JsonWriter w, string name, IEnumerable<string>? values)
    {
        if (values is null)
        {
            return;
        }
        w.WriteStartArray(name);
        foreach (var value in values)
        {
            w.WriteStringValue(value);
        }
        w.WriteEndArray();
    }

    /// <summary>A number as Glance shows it: whole numbers without a fraction.</summary>
    private static void Number(Utf8JsonWriter w, string name, double? value)
    {
        if (value is not { } number)
        {
            return;
        }
        if (Math.Floor(number) == number && Math.Abs(number) < 1e15)
        {
            w.WriteNumber(name, (long)number);
        }
        else
        {
            w.WritePropertyName(name);
            w.WriteRawValue(number.ToString("R", CultureInfo.InvariantCulture));
        }
    }
}
