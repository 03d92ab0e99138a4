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
        caller.IsAdmin
        || image.Owner is null
        || image.Visibility is ImageVisibility.Public or ImageVisibility.Community
        || IsOwner(caller, image)
        || (image.Visibility == ImageVisibility.Shared && caller.ProjectId is not null && members.ContainsKey(caller.ProjectId));

    /// <summary>May the caller change the image? (Glance: admin, or the owner project.)</summary>
    public static bool CanModify(Caller caller, ImageRecord image) =>
        caller.IsAdmin || (image.Owner is not null && IsOwner(caller, image));

    /// <summary>Is the caller's project the image's owner?</summary>
    public static bool IsOwner(Caller caller, ImageRecord image) =>
        caller.ProjectId is not null && string.Equals(image.Owner, caller.ProjectId, StringComparison.Ordinal);

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
        var owned = IsOwner(caller, image);
        return query.Visibility switch
        {
            VisibilityScope.Default => caller.IsAdmin
                ? image.Visibility != ImageVisibility.Community || owned
                : image.Visibility == ImageVisibility.Public || owned || IsMemberAt(caller, image, members, query.MemberStatus),
            VisibilityScope.Public => image.Visibility == ImageVisibility.Public,
            VisibilityScope.Community => image.Visibility == ImageVisibility.Community,
            VisibilityScope.Private => image.Visibility == ImageVisibility.Private && (caller.IsAdmin || owned),
            VisibilityScope.Shared => image.Visibility == ImageVisibility.Shared
                && (caller.IsAdmin || owned || IsMemberAt(caller, image, members, query.MemberStatus)),
            // Not CanSee: as in Glance's _select_images_query, a member lists a shared image only
            // at the requested member status, even with visibility=all (a pending share is showable, not listed).
            VisibilityScope.All => caller.IsAdmin
                || image.Visibility is ImageVisibility.Public or ImageVisibility.Community
                || owned || IsMemberAt(caller, image, members, query.MemberStatus),
            _ => false,
        };
    }

    private static bool IsMemberAt(Caller caller, ImageRecord image, IReadOnlyDictionary<string, MemberStatus> members, MemberStatus? wanted) =>
        image.Visibility == ImageVisibility.Shared
        && caller.ProjectId is not null
        && members.TryGetValue(caller.ProjectId, out var status)
        && (wanted is null || status == wanted);
}
