namespace Glance.Grains.Storage;

/// <summary>Names shared by the grains and the hosts that configure their storage.</summary>
public static class GlanceStorage
{
    /// <summary>The grain-storage provider every Glance grain persists through.</summary>
    public const string ProviderName = "glance";
}
