namespace Glance.Grains.Properties;

/// <summary>
/// One image's typed property set, keyed by the image id. Only the image grain calls it (it has
/// checked the image's visibility and ownership first), so there is no call cycle; the image grain
/// keeps a projection of the returned set for its view and the catalog. Not part of the public API.
/// </summary>
[Alias("glance.IImagePropertiesGrain"), Hosting.SiloOnly]
public interface IImagePropertiesGrain : IGrainWithGuidKey
{
    /// <summary>The whole set and its version.</summary>
    [ReadOnly, Alias("get")]
    Task<PropertySet> GetAsync();

    /// <summary>
    /// Checks every change of the batch and computes the outcome without writing anything: the new
    /// set (at the next version) and the delta that <see cref="CommitAsync"/> writes. The image grain
    /// records the delta in its own state first; that image write is the patch's commit point.
    /// </summary>
    [ReadOnly, Alias("preview")]
    Task<PropertyPreview> PreviewAsync(PropertyBatch batch);

    /// <summary>
    /// Writes a previewed delta the image has recorded; a delta already written (its version is not
    /// newer than the set's) changes nothing, so the image grain may send it again after a crash.
    /// </summary>
    [Alias("commit")]
    Task<PropertySet> CommitAsync(PropertyDelta delta);
}

/// <summary>What a change does.</summary>
public enum PropertyChangeKind
{
    /// <summary>PUT: create or replace with typed JSON.</summary>
    Put,
    /// <summary>PATCH add (upsert) with a string value parsed per the property's type.</summary>
    PatchAdd,
    /// <summary>PATCH replace: the property must exist (409).</summary>
    PatchReplace,
    /// <summary>v2.0 PATCH add: the property must not exist (409).</summary>
    PatchAddNew,
    /// <summary>DELETE: 404 when absent.</summary>
    Remove,
    /// <summary>PATCH remove: 409 when absent.</summary>
    PatchRemove,
}

/// <summary>One change of a batch.</summary>
[GenerateSerializer, Immutable, Alias("glance.property-change")]
public sealed record PropertyChange(
    [property: Id(0)] PropertyChangeKind Kind,
    [property: Id(1)] string Name,
    [property: Id(2)] PropertyWrite? Write,
    [property: Id(3)] string? IfMatch);

/// <summary>Changes plus the context the rules need.</summary>
[GenerateSerializer, Immutable, Alias("glance.property-batch")]
public sealed record PropertyBatch
{
    /// <summary>Who writes (already allowed to change the image).</summary>
    [Id(0)] public required Caller Caller { get; init; }
    /// <summary>The image's owner (private properties are visible to it).</summary>
    [Id(1)] public string? ImageOwner { get; init; }
    /// <summary>The changes, applied in order.</summary>
    [Id(2)] public ImmutableArray<PropertyChange> Changes { get; init; } = [];
    /// <summary>The operator's definitions at the time of the write.</summary>
    [Id(3)] public PropertyDefinitionSet Definitions { get; init; } = PropertyDefinitionSet.Empty;
    /// <summary>Most properties an image may carry, and how many of them the service's own take.</summary>
    [Id(4)] public int Quota { get; init; } = int.MaxValue;
    /// <summary>How many service (<c>os_glance_*</c>) properties count against <see cref="Quota"/>.</summary>
    [Id(5)] public int Reserved { get; init; }
    /// <summary>Plain string properties of an image written before property sets existed; taken when the set is new.</summary>
    [Id(6)] public ImmutableDictionary<string, string>? Seed { get; init; }
    /// <summary>Start from an empty set (image create).</summary>
    [Id(7)] public bool Reset { get; init; }
    /// <summary>The time to stamp (whole seconds).</summary>
    [Id(8)] public DateTimeOffset Now { get; init; }
    /// <summary>Longest value a property may hold, in UTF-8 bytes as the image view shows it.</summary>
    [Id(9)] public int MaxValueBytes { get; init; } = int.MaxValue;
}

/// <summary>A property set at a version.</summary>
[GenerateSerializer, Immutable, Alias("glance.property-set")]
public sealed record PropertySet(
    [property: Id(0)] long Version,
    [property: Id(1)] ImmutableSortedDictionary<string, ImageProperty> Properties);

/// <summary>The outcome of a batch, not yet written.</summary>
[GenerateSerializer, Immutable, Alias("glance.property-preview")]
public sealed record PropertyPreview(
    [property: Id(0)] PropertySet Set,
    [property: Id(1)] bool Created,
    [property: Id(2)] PropertyDelta Delta);

/// <summary>
/// What a batch changes in a property set, as written: the properties it creates or replaces (with
/// their ETags and times) and the names it removes. Applying it needs no rule, so applying it again
/// gives the same set. Persisted in the image's state until the set has it (JSON: add, don't rename).
/// </summary>
[GenerateSerializer, Immutable, Alias("glance.property-delta")]
public sealed record PropertyDelta(
    [property: Id(0)] long Version,
    [property: Id(1)] bool Reset,
    [property: Id(2)] ImmutableArray<ImageProperty> Upserts,
    [property: Id(3)] ImmutableArray<string> Removals)
{
    /// <summary>The set with this delta applied; a set already at its version (or newer) as it is.</summary>
    public PropertySet ApplyTo(PropertySet set)
    {
        if (Version <= set.Version)
        {
            return set;
        }
        var properties = Reset ? ImmutableSortedDictionary.CreateBuilder<string, ImageProperty>(StringComparer.Ordinal) : set.Properties.ToBuilder();
        properties.RemoveRange(Removals);
        foreach (var property in Upserts)
        {
            properties[property.Name] = property;
        }
        return new PropertySet(Version, properties.ToImmutable());
    }
}
