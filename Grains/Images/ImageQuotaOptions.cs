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
}
