namespace Glance.Grains.Properties;

/// <summary>The wire names of property visibilities and types.</summary>
public static class PropertyVisibility
{
    /// <summary>Anyone who can see the image.</summary>
    public const string Public = "public";
    /// <summary>The image owner and the property owner (and admins).</summary>
    public const string Private = "private";
    /// <summary>Admins only.</summary>
    public const string Admin = "admin";

    /// <summary>True for one of the three names.</summary>
    public static bool IsValid(string? value) => value is Public or Private or Admin;
}

/// <summary>
/// One typed additional property of an image, as held by the image's property set.
/// </summary>
[GenerateSerializer, Immutable, Alias("glance.image-property")]
public sealed record ImageProperty
{
    /// <summary>The property name.</summary>
    [Id(0)] public string Name { get; init; } = "";
    /// <summary>The value as JSON of its <see cref="Type"/> (<c>"\"x\""</c>, <c>4</c>, <c>true</c>, ...).</summary>
    [Id(1)] public string ValueJson { get; init; } = "\"\"";
    /// <summary>string, integer, number, boolean, array or object.</summary>
    [Id(2)] public string Type { get; init; } = "string";
    /// <summary>The project that created it (set by the service).</summary>
    [Id(3)] public string? Owner { get; init; }
    /// <summary>public, private or admin (see <see cref="PropertyVisibility"/>).</summary>
    [Id(4)] public string Visibility { get; init; } = PropertyVisibility.Public;
    /// <summary>Only its owner or an admin may change or delete it.</summary>
    [Id(5)] public bool Protected { get; init; }
    /// <summary>Optional free text.</summary>
    [Id(6)] public string? Description { get; init; }
    /// <summary>When it was created.</summary>
    [Id(7)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When it was last written.</summary>
    [Id(8)] public DateTimeOffset UpdatedAt { get; init; }
    /// <summary>Changes on every write (opaque, unquoted); for <c>If-Match</c>.</summary>
    [Id(9)] public string ETag { get; init; } = "";

    /// <summary>
    /// The value as the v2 image view shows it: a string as is, any other type as its JSON text.
    /// </summary>
    public string FlatValue =>
        Type == "string" && System.Text.Json.JsonSerializer.Deserialize<string?>(ValueJson) is { } text ? text : Type == "string" ? "" : ValueJson;
}

/// <summary>A write of one property (PUT): the value as JSON; null attributes keep their current (or default) value.</summary>
[GenerateSerializer, Immutable, Alias("glance.property-write")]
public sealed record PropertyWrite(
    [property: Id(0)] string ValueJson,
    [property: Id(1)] string? Type = null,
    [property: Id(2)] string? Visibility = null,
    [property: Id(3)] bool? Protected = null,
    [property: Id(4)] string? Description = null);

/// <summary>Who may see a restricted property: its visibility and owner, carried on the image record.</summary>
[GenerateSerializer, Immutable, Alias("glance.property-access")]
public sealed record PropertyAccess([property: Id(0)] string Visibility, [property: Id(1)] string? Owner);
