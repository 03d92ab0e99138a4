using Glance.Grains.Catalog;
using Glance.Grains.Properties;

namespace Glance.Grains.Images;

/// <summary>
/// Glance's visibility and ownership rules (spec section 5), in one place: the image grain
/// uses them for single-image calls and the catalog shards for lists.
/// </summary>
public static class ImageAccess
{
    /// <summary>May the caller see (show) the image? If not, it is "not found".</summary>
    public static bool CanSee(Caller caller, ImageRecord image, IReadOnlyDictionary<string, MemberStatus> members) =>
        CanSee(caller, image.Owner, image.Visibility, members);

    /// <summary>The same rule for anything owned and shared like an image (server templates use it too).</summary>
    public static bool CanSee(Caller caller, string? owner, ImageVisibility visibility, IReadOnlyDictionary<string, MemberStatus> members) =>
        caller.IsAdmin
        || owner is null
        || visibility is ImageVisibility.Public or ImageVisibility.Community
        || IsOwner(caller, owner)
        || (visibility == ImageVisibility.Shared && caller.ProjectId is not null && members.ContainsKey(caller.ProjectId));

    /// <summary>May the caller change the image? (Glance: admin, or the owner project.)</summary>
    public static bool CanModify(Caller caller, ImageRecord image) => CanModify(caller, image.Owner);

    /// <summary>May the caller change what <paramref name="owner"/> owns? (Glance: admin, or the owner project.)</summary>
    public static bool CanModify(Caller caller, string? owner) =>
        caller.IsAdmin || (owner is not null && IsOwner(caller, owner));

    /// <summary>Is the caller's project the image's owner?</summary>
    public static bool IsOwner(Caller caller, ImageRecord image) => IsOwner(caller, image.Owner);

    /// <summary>Is the caller's project <paramref name="owner"/>?</summary>
    public static bool IsOwner(Caller caller, string? owner) =>
        caller.ProjectId is not null && string.Equals(owner, caller.ProjectId, StringComparison.Ordinal);

    /// <summary>
    /// May the caller see an additional property of a visible image? public: anyone who sees the
    /// image; private: the image owner, the property owner (and admins); admin: admins only.
    /// </summary>
    public static bool CanSeeProperty(Caller caller, string? imageOwner, string visibility, string? propertyOwner) => visibility switch
    {
        PropertyVisibility.Public => true,
        PropertyVisibility.Private => caller.IsAdmin
            || (caller.ProjectId is not null && (caller.ProjectId == imageOwner || caller.ProjectId == propertyOwner)),
        PropertyVisibility.Admin => caller.IsAdmin,
        _ => false,
    };

    /// <summary>May the caller see the additional property <paramref name="name"/> of <paramref name="image"/>?</summary>
    public static bool CanSeeProperty(Caller caller, ImageRecord image, string name, PropertyProtections? protections = null) =>
        (!image.PropertyAccess.TryGetValue(name, out var access) || CanSeeProperty(caller, image.Owner, access.Visibility, access.Owner))
        && (protections is null || protections.Allows(caller, name, "read"));

    /// <summary>
    /// The image as <paramref name="caller"/> may see it: properties it may not see left out. The
    /// record itself when no property is restricted (the common, allocation-free case).
    /// </summary>
    public static ImageRecord ForCaller(Caller caller, ImageRecord image, PropertyProtections? protections = null)
    {
        var guarded = protections is { Enabled: true };
        if (image.PropertyAccess.IsEmpty && (!guarded || image.Properties.IsEmpty))
        {
            return image;
        }
        var hidden = guarded
            ? image.Properties.Keys.Where(name => !CanSeeProperty(caller, image, name, protections)).ToList()
            : image.PropertyAccess.Where(a => !CanSeeProperty(caller, image.Owner, a.Value.Visibility, a.Value.Owner)).Select(a => a.Key).ToList();
        return hidden.Count == 0
            ? image
            : image with
            {
                Properties = image.Properties.RemoveRange(hidden),
                PropertyAccess = image.PropertyAccess.RemoveRange(hidden),
            };
    }

    /// <summary>Does the image belong in the caller's list for this visibility scope?</summary>
    public static bool IsListed(Caller caller, ImageRecord image, IReadOnlyDictionary<string, MemberStatus> members, ImageQuery query)
    {
        if (image.Status is ImageStatus.Deleted or ImageStatus.Killed || image.OsHidden != query.OsHidden)
        {
            return false;
        }
        return IsListed(caller, image.Owner, image.Visibility, members, query.Visibility, query.MemberStatus);
    }

    /// <summary>Does something owned and shared like an image belong in the caller's list for this visibility scope?</summary>
    public static bool IsListed(Caller caller, string? owner, ImageVisibility visibility, IReadOnlyDictionary<string, MemberStatus> members,
        VisibilityScope scope, MemberStatus? memberStatus)
    {
        var owned = IsOwner(caller, owner);
        return scope switch
        {
            VisibilityScope.Default => caller.IsAdmin
                ? visibility != ImageVisibility.Community || owned
                : visibility == ImageVisibility.Public || owned || IsMemberAt(caller, visibility, members, memberStatus),
            VisibilityScope.Public => visibility == ImageVisibility.Public,
            VisibilityScope.Community => visibility == ImageVisibility.Community,
            VisibilityScope.Private => visibility == ImageVisibility.Private && (caller.IsAdmin || owned),
            VisibilityScope.Shared => visibility == ImageVisibility.Shared
                && (caller.IsAdmin || owned || IsMemberAt(caller, visibility, members, memberStatus)),
            // Not CanSee: as in Glance's _select_images_query, a member lists a shared image only
            // at the requested member status, even with visibility=all (a pending share is showable, not listed).
            VisibilityScope.All => caller.IsAdmin
                || visibility is ImageVisibility.Public or ImageVisibility.Community
                || owned || IsMemberAt(caller, visibility, members, memberStatus),
            _ => false,
        };
    }

    private static bool IsMemberAt(Caller caller, ImageVisibility visibility, IReadOnlyDictionary<string, MemberStatus> members, MemberStatus? wanted) =>
        visibility == ImageVisibility.Shared
        && caller.ProjectId is not null
        && members.TryGetValue(caller.ProjectId, out var status)
        && (wanted is null || status == wanted);
}
