using System.Text.Json;

namespace Glance.Grains.Images;

/// <summary>
/// The attributes of a new image, as attribute name to JSON value (e.g. <c>"name" -&gt; "\"cirros\""</c>).
/// Values stay JSON so the image grain alone validates them against the image schema,
/// whoever the caller is; <see cref="With"/> builds one from plain .NET values.
/// </summary>
[GenerateSerializer, Immutable, Alias("glance.image-draft")]
public sealed record ImageDraft([property: Id(0)] ImmutableDictionary<string, string> Attributes)
{
    /// <summary>A draft with no attributes: every attribute takes its default.</summary>
    public static ImageDraft Empty { get; } = new(ImmutableDictionary<string, string>.Empty);

    /// <summary>A copy with one attribute set to a value serialized as JSON.</summary>
    public ImageDraft With(string attribute, object? value) =>
        new(Attributes.SetItem(attribute, JsonSerializer.Serialize(value)));
}

/// <summary>A JSON-patch operation kind.</summary>
public enum PatchOp
{
    /// <summary>Set a value whether or not it exists (v2.1 <c>add</c>; <c>/tags</c> replaces the set).</summary>
    Add,
    /// <summary>Set a value that must already exist when it is an additional property.</summary>
    Replace,
    /// <summary>Remove an additional property that must exist.</summary>
    Remove,
    /// <summary>The v2.0 dialect's <c>add</c>: fails with a conflict if the property exists.</summary>
    AddNew,
}

/// <summary>One change to an image's metadata.</summary>
/// <param name="Op">What to do.</param>
/// <param name="Attribute">The attribute or property name (the decoded single pointer segment).</param>
/// <param name="ValueJson">The new value as JSON; null for <see cref="PatchOp.Remove"/>.</param>
[GenerateSerializer, Immutable, Alias("glance.patch-op")]
public sealed record PatchOperation(
    [property: Id(0)] PatchOp Op,
    [property: Id(1)] string Attribute,
    [property: Id(2)] string? ValueJson)
{
    /// <summary>A replace of <paramref name="attribute"/> with a .NET value.</summary>
    public static PatchOperation Replace(string attribute, object? value) =>
        new(PatchOp.Replace, attribute, JsonSerializer.Serialize(value));

    /// <summary>An add (upsert) of <paramref name="attribute"/> with a .NET value.</summary>
    public static PatchOperation Add(string attribute, object? value) =>
        new(PatchOp.Add, attribute, JsonSerializer.Serialize(value));

    /// <summary>A remove of <paramref name="attribute"/>.</summary>
    public static PatchOperation Remove(string attribute) => new(PatchOp.Remove, attribute, null);
}

/// <summary>The attribute names of the image schema and the rules attached to them.</summary>
public static class ImageAttributes
{
    /// <summary>Base attributes a caller may write (subject to further rules).</summary>
    public static readonly ImmutableHashSet<string> Writable =
    [
        "name", "visibility", "protected", "os_hidden", "min_disk", "min_ram",
        "container_format", "disk_format", "owner", "tags",
    ];

    /// <summary>Base attributes only the service sets; writing them gives 403.</summary>
    public static readonly ImmutableHashSet<string> ReadOnly =
    [
        "id", "status", "checksum", "os_hash_algo", "os_hash_value", "size", "virtual_size",
        "created_at", "updated_at", "direct_url", "self", "file", "schema", "stores", "locations",
    ];

    /// <summary>Names Glance reserves outright; writing them gives 403.</summary>
    public static readonly ImmutableHashSet<string> Reserved = ["location", "deleted", "deleted_at"];

    /// <summary>The image's storage locations: never shown here, so never changed (403, as Glance with show_multiple_locations off).</summary>
    public const string Locations = "locations";

    /// <summary>The prefix of properties Glance itself writes; callers may not.</summary>
    public const string ServicePrefix = "os_glance";

    /// <summary>Container formats Glance accepts by default.</summary>
    public static readonly ImmutableArray<string> ContainerFormats =
        ["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"];

    /// <summary>Disk formats Glance accepts by default.</summary>
    public static readonly ImmutableArray<string> DiskFormats =
        ["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"];

    /// <summary>True for names that belong to the base schema (not additional properties).</summary>
    public static bool IsBase(string name) => Writable.Contains(name) || ReadOnly.Contains(name);

    /// <summary>Longest name, tag or property key Glance accepts.</summary>
    public const int MaxStringLength = 255;
}
