namespace Glance.Api.Identity;

/// <summary>
/// How callers are identified; bound from <c>Glance:Identity</c>. Identity comes from the
/// headers an authenticating proxy (Keystone's auth_token middleware) sets. Without any such
/// header a request gets the default identity, unless that is turned off (then 401).
/// </summary>
public sealed class IdentityOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Glance:Identity";

    /// <summary>Give requests without identity headers the default identity (a developer machine); false in production.</summary>
    public bool UseDefaultIdentity { get; set; } = true;

    /// <summary>Project of the default identity.</summary>
    public string DefaultProject { get; set; } = "admin";

    /// <summary>User of the default identity.</summary>
    public string DefaultUser { get; set; } = "admin";

    /// <summary>Comma-separated roles of the default identity.</summary>
    public string DefaultRoles { get; set; } = "admin,member";
}
