namespace Glance.Grains.Templates;

/// <summary>
/// What a template grain persists (JSON, camelCase, like the image state: add fields, don't rename).
/// Versions are kept whole; a version's JSON never changes once written.
/// </summary>
public sealed class TemplateState
{
    /// <summary>Set at create; null: the id was never used.</summary>
    public DateTimeOffset? CreatedAt { get; set; }
    /// <summary>True once deleted: ids are never reused.</summary>
    public bool Deleted { get; set; }
    public string Name { get; set; } = "";
    public string? Description { get; set; }
    public ImageVisibility Visibility { get; set; } = ImageVisibility.Private;
    public SortedSet<string> Tags { get; set; } = new(StringComparer.Ordinal);
    public string? Owner { get; set; }
    public bool Protected { get; set; }
    public int DefaultVersion { get; set; }
    /// <summary>The number the next version gets: numbers are never reused, even after a delete.</summary>
    public int NextNumber { get; set; } = 1;
    public DateTimeOffset UpdatedAt { get; set; }
    public SortedDictionary<string, MemberState> Members { get; set; } = new(StringComparer.Ordinal);
    public SortedDictionary<int, TemplateVersion> Versions { get; set; } = [];
    /// <summary>Incremented on every write; index shards keep the newest they saw.</summary>
    public long Version { get; set; }

    /// <summary>A copy to change and throw away on error (versions are immutable records, shared).</summary>
    public TemplateState Clone()
    {
        var copy = (TemplateState)MemberwiseClone();
        copy.Tags = new SortedSet<string>(Tags, StringComparer.Ordinal);
        copy.Members = new SortedDictionary<string, MemberState>(Members, StringComparer.Ordinal);
        copy.Versions = new SortedDictionary<int, TemplateVersion>(Versions);
        return copy;
    }
}
