namespace Glance.Grains.Images;

/// <summary>Per-image limits (Glance's defaults), bound from <c>Glance:Quotas</c>.</summary>
public sealed class ImageQuotaOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Glance:Quotas";

    /// <summary>Most additional properties an image may carry (<c>image_property_quota</c>).</summary>
    public int ImagePropertyQuota { get; set; } = 128;

    /// <summary>Most tags an image may carry (<c>image_tag_quota</c>).</summary>
    public int ImageTagQuota { get; set; } = 128;

    /// <summary>Most members an image may have (<c>image_member_quota</c>).</summary>
    public int ImageMemberQuota { get; set; } = 128;

    /// <summary>
    /// Longest value of one additional property, in UTF-8 bytes: 65,535, what Glance's TEXT column
    /// holds on MySQL, so nothing Glance stores is refused.
    /// </summary>
    public int ImagePropertyValueBytes { get; set; } = 65_535;

    /// <summary>
    /// Most metadata one image may carry, in UTF-8 bytes of its additional properties' names and values
    /// and its tags (128 KiB: two values of the longest kind). Bounds what an image costs in memory
    /// and what one image adds to a list page. Glance has no such total; raise it if you need more.
    /// </summary>
    public int ImageMetadataBytes { get; set; } = 128 * 1024;

    /// <summary>Null when the settings are usable, else what is wrong.</summary>
    public string? Problem() =>
        ImagePropertyQuota < 0 || ImageTagQuota < 0 || ImageMemberQuota < 0 ? "quotas must not be negative"
        : ImagePropertyValueBytes <= 0 ? "ImagePropertyValueBytes must be positive"
        : ImageMetadataBytes < ImagePropertyValueBytes ? "ImageMetadataBytes must be at least ImagePropertyValueBytes"
        : null;
}
